#include "serve/echo_worker.h"

#include <fmt/core.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cli/close_event.h"
#include "net/poll_token.h"
#include "tcpka/socket_options.h"
#include "tcpka/tcp_state.h"

namespace tcpka::tools {
namespace {

// What a registered descriptor is; PollToken::index holds which one (a listener's index,
// a connection's descriptor).
enum TokenKind : std::uint32_t { kConnection = 1, kListener = 2, kWakeup = 3 };

std::uint64_t token(TokenKind kind, std::size_t index) {
  return net::PollToken{kind, static_cast<std::uint32_t>(index)}.packed();
}

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
constexpr Millis kSlowReaderCheck{100};
constexpr Millis kListenerPause{100};  // when out of descriptors and out of reserve
constexpr Timestamp kRefusalReportEvery = 1'000;
// Pings that may come too soon in a row before the peer is ended (gRPC's default).
constexpr std::uint8_t kPingStrikesAllowed = 2;

std::int64_t elapsed(Timestamp from, Timestamp to) {
  return static_cast<std::int64_t>(to - from);
}

}  // namespace

Result<std::unique_ptr<EchoWorker>> EchoWorker::create(int index,
                                                       std::vector<BoundListener> listeners,
                                                       const ServeSettings& settings,
                                                       ServerShared& shared,
                                                       WorkerCounters& counters) {
  auto poller = net::Poller::create();
  if (!poller) return poller.error();
  auto acceptor = net::Acceptor::create();
  if (!acceptor) return acceptor.error();
  net::UniqueFd wakeup(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup) {
    const int error = errno;
    return errno_error(error, "eventfd: " + std::generic_category().message(error));
  }
  if (auto added = poller->add(wakeup.get(), EPOLLIN, token(kWakeup, 0)); !added) {
    return added.error();
  }
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    if (auto added = poller->add(listeners[i].fd.get(), EPOLLIN, token(kListener, i)); !added) {
      return added.error();
    }
  }
  return std::unique_ptr<EchoWorker>(new EchoWorker(index, std::move(listeners), settings, shared,
                                                    counters, std::move(*poller),
                                                    std::move(*acceptor), std::move(wakeup)));
}

EchoWorker::EchoWorker(int index, std::vector<BoundListener> listeners,
                       const ServeSettings& settings, ServerShared& shared,
                       WorkerCounters& counters, net::Poller poller, net::Acceptor acceptor,
                       net::UniqueFd wakeup)
    : index_(index),
      listeners_(std::move(listeners)),
      settings_(settings),
      shared_(shared),
      counters_(counters),
      poller_(std::move(poller)),
      acceptor_(std::move(acceptor)),
      wakeup_(std::move(wakeup)),
      buffer_(kReadSize),
      listener_paused_until_(listeners_.size(), 0) {
  // A tick of about 1/64 of the idle timeout (10 ms..1 s; coarser for timeouts above an
  // hour, at most 4096 ticks per timeout) and of 1/16 of the heartbeat interval: deadlines
  // come at most a tick late.
  std::optional<std::int64_t> tick;
  if (settings_.idle_timeout > Millis(0)) {
    const std::int64_t total = settings_.idle_timeout.count();
    tick = std::max(std::clamp<std::int64_t>(total / 64, 10, 1'000), (total + 4095) / 4096);
  }
  if (settings_.heartbeat) {
    const std::int64_t heartbeat = heartbeat_tick(*settings_.heartbeat).count();
    tick = tick ? std::min(*tick, heartbeat) : heartbeat;
  }
  if (tick) {
    tick_ms_ = static_cast<std::uint64_t>(*tick);
    wheel_.emplace(shared_.table.wheel_keys(), shared_.table.capacity(), now() / tick_ms_);
  }
}

Timestamp EchoWorker::now() const {
  const auto since_start =
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - shared_.start);
  return static_cast<Timestamp>(since_start.count());
}

void EchoWorker::stop() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wakeup_.get(), &one, sizeof(one));
}

// --- the loop ----------------------------------------------------------------------

void EchoWorker::run() {
  while (!stopping_.load()) {
    poller_.wait(next_timeout(),
                 [&](std::uint64_t t, std::uint32_t events) { dispatch(t, events); });
    const Timestamp current = now();
    if (wheel_) {
      wheel_->advance(current / tick_ms_,
                      [&](DeadlineWheel::Key fd) { on_deadline(static_cast<int>(fd), current); });
    }
    check_slow_readers(current);
    resume_paused_listeners(current);
    report_refusals(current);
    flush_log();
  }
  for (BoundListener& listener : listeners_)
    listener.fd.reset();
}

void EchoWorker::close_all() {
  for (std::size_t fd = 0; fd < shared_.table.capacity(); ++fd) {
    const int raw = static_cast<int>(fd);
    if (shared_.table.held_by(raw, index_)) {
      close_connection(raw, shared_.table[raw], CloseCause::local, {});
    }
  }
  flush_log();
}

void EchoWorker::flush_log() {
  shared_.log.write(log_batch_);
  log_batch_.clear();
}

// Sleeps until the next timer that has work, and forever when none has: an idle server
// costs no CPU at all.
Millis EchoWorker::next_timeout() const {
  Millis timeout(-1);
  const auto sooner = [&](Millis candidate) {
    timeout = timeout.count() < 0 ? candidate : std::min(timeout, candidate);
  };
  if (const auto due = wheel_ ? wheel_->next_due() : std::nullopt) {
    const Timestamp at = *due * tick_ms_;
    const Timestamp current = now();
    sooner(Millis(at > current ? at - current : 0));
  }
  if (!output_full_.empty()) sooner(kSlowReaderCheck);
  for (Timestamp paused : listener_paused_until_) {
    if (paused != 0) sooner(kListenerPause);
  }
  const bool unreported = std::any_of(refusals_unreported_.begin(), refusals_unreported_.end(),
                                      [](std::uint64_t n) { return n != 0; });
  if (unreported) sooner(Millis(kRefusalReportEvery));
  return timeout;
}

void EchoWorker::dispatch(std::uint64_t bits, std::uint32_t events) {
  const net::PollToken t = net::PollToken::unpack(bits);
  switch (t.kind) {
    case kConnection:
      on_connection(static_cast<int>(t.index), events);
      return;
    case kListener:
      on_listener(t.index);
      return;
    case kWakeup: {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t n = ::read(wakeup_.get(), &count, sizeof(count));
      return;
    }
    default:
      return;
  }
}

// --- accepting -----------------------------------------------------------------------

void EchoWorker::on_listener(std::size_t index) {
  const net::AcceptRound round = acceptor_.accept_all(
      listeners_[index].fd.get(),
      [&](net::UniqueFd fd, const net::SocketAddress& peer) { admit(std::move(fd), peer, index); });
  if (round.dropped_out_of_fds > 0) {
    counters_.count(counters_.dropped_out_of_fds, round.dropped_out_of_fds);
    refuse(kOutOfFds, round.dropped_out_of_fds);
  }
  if (round.out_of_fds_without_reserve) {
    // Not even the reserve is left: stop listening for a moment instead of spinning.
    poller_.remove(listeners_[index].fd.get());
    listener_paused_until_[index] = std::max<Timestamp>(1, now() + kListenerPause.count());
  } else if (round.last_error != 0) {
    counters_.count(counters_.accept_errors);
  }
}

void EchoWorker::admit(net::UniqueFd fd, const net::SocketAddress& peer_address,
                       std::size_t listener) {
  const int raw = fd.get();
  if (!shared_.table.holds(raw)) {
    counters_.count(counters_.refused_max_conns);
    refuse(kBeyondTable);
    return;
  }
  const net::CompactAddress peer = net::compact(peer_address);
  const std::uint64_t open_before = shared_.open.fetch_add(1);
  if (settings_.max_conns != 0 && open_before >= settings_.max_conns) {
    shared_.open.fetch_sub(1);
    counters_.count(counters_.refused_max_conns);
    refuse(kMaxConns);
    return;
  }
  if (shared_.per_ip.enabled() && !shared_.per_ip.admit(net::ip_of(peer))) {
    shared_.open.fetch_sub(1);
    counters_.count(counters_.refused_per_ip);
    refuse(kPerIp);
    return;
  }
  const auto undo = [&] {
    shared_.open.fetch_sub(1);
    if (shared_.per_ip.enabled()) shared_.per_ip.release(net::ip_of(peer));
    counters_.count(counters_.accept_errors);
  };
  if (!shared_.table.try_hold(raw, index_)) {
    undo();
    return;
  }
  Connection& c = shared_.table[raw];
  c.peer = peer;
  c.listener = static_cast<std::uint8_t>(listener);
  c.opened = c.last_received = now();
  c.interest = Connection::kInput;
  if (!poller_.add(raw, EPOLLIN | EPOLLRDHUP, token(kConnection, static_cast<std::size_t>(raw)))) {
    shared_.table.let_go(raw);
    undo();
    return;
  }
  if (settings_.heartbeat && settings_.heartbeat->phi) {
    phi_.insert_or_assign(raw, HeartbeatDetector(*settings_.heartbeat, Millis(c.last_received)));
  }
  if (wheel_) arm_deadline(raw, c);
  counters_.count(counters_.accepted);
  fd.release();  // the table owns it now
  verify_inherited_policy(raw);
}

void EchoWorker::refuse(Refusal reason, std::uint64_t n) {
  refusals_unreported_[reason] += n;
}

// Accepted sockets inherit the listener's keepalive and user timeout (DESIGN.md); debug
// builds check that on every accept rather than trust it.
void EchoWorker::verify_inherited_policy([[maybe_unused]] int fd) {
#ifndef NDEBUG
  if (!settings_.inherited) return;
  auto in_force = read_policy(fd);
  if (in_force && *in_force == *settings_.inherited) return;
  log_batch_ += fmt::format("warning: fd {} did not inherit the listener's policy {}: it has {}\n",
                            fd, to_string(*settings_.inherited),
                            in_force ? to_string(*in_force) : in_force.error().message);
#endif
}

void EchoWorker::report_refusals(Timestamp current) {
  if (elapsed(next_refusal_report_, current) < 0) return;
  std::string reasons;
  for (std::size_t reason = 0; reason < kRefusalCount; ++reason) {
    const std::uint64_t n = std::exchange(refusals_unreported_[reason], 0);
    if (n == 0) continue;
    std::string why;
    switch (static_cast<Refusal>(reason)) {
      case kMaxConns:
        why = fmt::format("--max-conns {} reached", settings_.max_conns);
        break;
      case kPerIp:
        why = "--per-ip limit reached";
        break;
      case kBeyondTable:
        why = "descriptor beyond the connection table";
        break;
      case kOutOfFds:
        why = "out of file descriptors";
        break;
      case kRefusalCount:
        break;
    }
    reasons += fmt::format("{}{} ({})", reasons.empty() ? "" : ", ", why, n);
  }
  if (reasons.empty()) return;
  if (shared_.log.enabled()) log_batch_ += fmt::format("refused connections: {}\n", reasons);
  next_refusal_report_ = current + kRefusalReportEvery;
}

void EchoWorker::resume_paused_listeners(Timestamp current) {
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    if (listener_paused_until_[i] == 0 || elapsed(listener_paused_until_[i], current) < 0) continue;
    listener_paused_until_[i] = 0;
    if (!poller_.add(listeners_[i].fd.get(), EPOLLIN, token(kListener, i))) {
      listener_paused_until_[i] = current + kListenerPause.count();
    }
  }
}

// --- a connection's life ---------------------------------------------------------------

void EchoWorker::on_connection(int fd, std::uint32_t events) {
  // epoll reports only descriptors this worker registered, and a closed descriptor
  // leaves epoll with its close: the slot is this worker's.
  Connection& c = shared_.table[fd];
  if ((events & EPOLLERR) != 0) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) {
      end_by_kernel(fd, c, error);
      return;
    }
  }
  if ((events & EPOLLOUT) != 0 && !on_writable(fd, c)) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) on_readable(fd, c);
}

bool EchoWorker::on_readable(int fd, Connection& c) {
  for (int round = 0; round < net::kReadsPerReadiness; ++round) {
    if (c.state != Connection::kOpen || c.reading_paused) return true;
    // Never read more than the output bound can take: with --max-buffer below one
    // read's size, this is what keeps the bound a bound.
    const std::size_t pending = c.pending == nullptr ? 0 : c.pending->size();
    const std::size_t room = std::min(buffer_.size(), settings_.max_buffer - pending);
    const ssize_t n = ::recv(fd, buffer_.data(), room, 0);
    if (n > 0) {
      c.bytes_in += static_cast<std::uint64_t>(n);
      c.last_received = now();
      counters_.count(counters_.bytes_in, static_cast<std::uint64_t>(n));
      const std::string_view bytes(buffer_.data(), static_cast<std::size_t>(n));
      if (!(settings_.heartbeat ? on_frames(fd, c, bytes) : echo(fd, c, bytes))) return false;
      // A short read drained the socket: skip the read that would only say EAGAIN (the
      // level-triggered poller reports anything that arrives later).
      if (static_cast<std::size_t>(n) < room) return true;
      continue;
    }
    if (n == 0) {
      // The peer has finished sending. Close now, or once what it sent is echoed.
      if (c.pending == nullptr) {
        close_connection(fd, c, CloseCause::peer_closed, {});
        return false;
      }
      c.state = Connection::kDraining;
      return watch(fd, c);
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return true;
    if (error == EINTR) continue;
    end_by_kernel(fd, c, error);
    return false;
  }
  return true;
}

// Sends `bytes` back, keeping what the peer cannot take now.
bool EchoWorker::echo(int fd, Connection& c, std::string_view bytes) {
  if (c.pending == nullptr) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      end_by_kernel(fd, c, errno);
      return false;
    }
    const auto sent = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    counters_.count(counters_.bytes_out, sent);
    bytes.remove_prefix(sent);
    if (bytes.empty()) return true;
    c.pending = new OutputBuffer;
    c.pending->bytes.assign(bytes);
  } else {
    c.pending->bytes.append(bytes);
  }
  if (c.pending->size() >= settings_.max_buffer && !c.reading_paused) {
    // The peer does not read: stop reading from it, and give it a grace period.
    c.reading_paused = true;
    c.pending->full_since = std::max<Timestamp>(1, now());
    output_full_.push_back(fd);
  }
  return watch(fd, c);
}

bool EchoWorker::on_writable(int fd, Connection& c) {
  OutputBuffer* out = c.pending;
  if (out == nullptr) return watch(fd, c);
  while (out->size() > 0) {
    const ssize_t n =
        ::send(fd, out->bytes.data() + out->sent, out->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) break;
      end_by_kernel(fd, c, error);
      return false;
    }
    out->sent += static_cast<std::size_t>(n);
    counters_.count(counters_.bytes_out, static_cast<std::uint64_t>(n));
  }
  if (out->size() == 0) {
    delete out;
    c.pending = nullptr;
    if (c.state == Connection::kDraining) {
      close_connection(fd, c, CloseCause::peer_closed, {});
      return false;
    }
  } else if (out->sent > out->bytes.size() / 2) {
    out->bytes.erase(0, out->sent);
    out->sent = 0;
  }
  if (c.reading_paused && (c.pending == nullptr || c.pending->size() < settings_.max_buffer)) {
    c.reading_paused = false;
    if (c.pending != nullptr) c.pending->full_since = 0;
  }
  return watch(fd, c);
}

// Tells epoll what this connection waits for, when that changed: input unless paused or
// draining, output while some is pending.
bool EchoWorker::watch(int fd, Connection& c) {
  std::uint8_t interest = Connection::kNone;
  if (c.state == Connection::kOpen && !c.reading_paused) interest |= Connection::kInput;
  if (c.pending != nullptr) interest |= Connection::kOutput;
  if (interest == c.interest) return true;
  std::uint32_t events = 0;
  if ((interest & Connection::kInput) != 0) events |= EPOLLIN | EPOLLRDHUP;
  if ((interest & Connection::kOutput) != 0) events |= EPOLLOUT;
  if (auto modified = poller_.modify(fd, events, token(kConnection, static_cast<std::size_t>(fd)));
      !modified) {
    // Only a kernel out of memory refuses this; the connection cannot be served.
    close_connection(fd, c, CloseCause::local, modified.error().code);
    return false;
  }
  c.interest = interest;
  return true;
}

void EchoWorker::end_by_kernel(int fd, Connection& c, int error) {
  CloseEvidence evidence;
  evidence.error = errno_code(error);
  evidence.keepalive_armed = settings_.keepalive_armed;
  evidence.user_timeout_armed = settings_.user_timeout_armed;
  if (auto state = read_tcp_state(fd)) evidence.last_state = *state;
  close_connection(fd, c, classify_close(evidence), evidence.error);
}

void EchoWorker::close_connection(int fd, Connection& c, CloseCause cause, std::error_code error) {
  if (shared_.log.enabled()) {
    const Timestamp current = now();
    CloseEvent event;
    event.peer = net::to_string(c.peer);
    event.local = listeners_[c.listener].address;
    event.duration = Millis(elapsed(c.opened, current));
    event.bytes_in = c.bytes_in;
    event.bytes_out = c.bytes_out();
    event.cause = cause;
    event.error = error;
    event.since_last_received = Millis(elapsed(c.last_received, current));
    if (auto state = read_tcp_state(fd)) {
      event.probes = state->probes;
      event.retransmits = state->total_retransmits;
    }
    log_batch_ += format_close_event(event, shared_.log.format());
  }
  if (wheel_) wheel_->cancel(static_cast<DeadlineWheel::Key>(fd));
  if (!phi_.empty()) phi_.erase(fd);
  counters_.count(counters_.closed_by_cause[static_cast<std::size_t>(cause)]);
  counters_.count(counters_.closed);
  shared_.open.fetch_sub(1);
  if (shared_.per_ip.enabled()) shared_.per_ip.release(net::ip_of(c.peer));
  delete c.pending;
  shared_.table.let_go(fd);  // the slot is not ours from here on
  ::close(fd);
}

// --- timers ----------------------------------------------------------------------------

Timestamp EchoWorker::dead_at(int fd, const Connection& c) const {
  if (settings_.heartbeat->phi) {
    const auto detector = phi_.find(fd);
    if (detector != phi_.end()) return static_cast<Timestamp>(detector->second.dead_at().count());
  }
  return c.last_received + static_cast<Timestamp>(settings_.heartbeat->timeout.count());
}

// Files a connection under its next deadline: the idle timeout, its next ping (an
// interval, two intervals... after the last bytes heard) or its heartbeat death. Activity
// does not move it (the wheel is lazy): when the deadline comes, on_deadline looks again.
void EchoWorker::arm_deadline(int fd, const Connection& c) {
  Timestamp due = UINT64_MAX;
  if (settings_.idle_timeout > Millis(0)) {
    due = c.last_received + static_cast<Timestamp>(settings_.idle_timeout.count());
  }
  if (settings_.heartbeat) {
    const auto interval = static_cast<Timestamp>(settings_.heartbeat->interval.count());
    const Timestamp current = now();
    const Timestamp silence = current - std::min(current, c.last_received);
    due = std::min({due, c.last_received + interval * (silence / interval + 1), dead_at(fd, c)});
  }
  wheel_->arm(static_cast<DeadlineWheel::Key>(fd), (due + tick_ms_ - 1) / tick_ms_);
}

void EchoWorker::on_deadline(int fd, Timestamp current) {
  // The wheel holds only this worker's connections: each is disarmed before it closes.
  Connection& c = shared_.table[fd];
  const std::int64_t silence = elapsed(c.last_received, current);
  if (settings_.idle_timeout > Millis(0) && silence >= settings_.idle_timeout.count()) {
    close_connection(fd, c, CloseCause::idle_timeout, {});
    return;
  }
  if (settings_.heartbeat) {
    if (elapsed(dead_at(fd, c), current) >= 0) {
      // Read what waits before judging: after a pause of our own (a stopped process, a
      // long stall) the peer's bytes may be in the socket, unseen, and they count.
      const Timestamp heard = c.last_received;
      if (!on_readable(fd, c)) return;
      if (c.last_received == heard) {
        close_connection(fd, c, CloseCause::heartbeat_timeout, {});
        return;
      }
    }
    // The wheel comes at ping times, or when the peer spoke since: then it only re-files.
    const std::int64_t quiet = elapsed(c.last_received, current);
    if (quiet >= settings_.heartbeat->interval.count() && !send_ping(fd, c)) return;
  }
  arm_deadline(fd, c);
}

// --- framed mode -------------------------------------------------------------------------

// Echoes the data frames as they came and answers pings. The reader works on a copy:
// once a callback has closed the connection, the slot is no longer ours to write.
bool EchoWorker::on_frames(int fd, Connection& c, std::string_view bytes) {
  net::FrameReader reader = c.frames;
  bool open = true;
  bool heartbeat = false;
  const net::FrameStatus status = net::read_frames(
      reader, bytes, [&](std::string_view data) { open = open && echo(fd, c, data); },
      [&] {
        heartbeat = true;
        open = open && on_ping(fd, c);
      },
      [&] { heartbeat = true; });
  if (!open) return false;
  c.frames = reader;
  if (status == net::FrameStatus::malformed) {
    close_connection(fd, c, CloseCause::protocol_error, {});
    return false;
  }
  // Any bytes move phi's deadline (a busy peer sends no heartbeats); only heartbeats teach it.
  if (!phi_.empty()) {
    const auto detector = phi_.find(fd);
    if (detector != phi_.end()) detector->second.heard(Millis(c.last_received), heartbeat);
  }
  if (c.ping_owed && c.frames.at_boundary()) return send_ping(fd, c);
  return true;
}

// A ping is answered at once: everything before it in the stream was whole frames, so
// the echo is between frames too. A peer that pings too often is ended (too_many_pings).
bool EchoWorker::on_ping(int fd, Connection& c) {
  const auto at = static_cast<std::uint32_t>(std::max<Timestamp>(c.last_received, 1));
  const auto min_gap = static_cast<std::uint32_t>(settings_.min_ping_interval.count());
  if (c.last_ping_in != 0 && at - c.last_ping_in < min_gap) {
    if (++c.ping_strikes > kPingStrikesAllowed) {
      close_connection(fd, c, CloseCause::too_many_pings, {});
      return false;
    }
  } else {
    c.ping_strikes = 0;
  }
  c.last_ping_in = at;
  counters_.count(counters_.pings_received);
  return echo(fd, c, net::control_frame(net::FrameType::pong));
}

// Our own ping goes out between frames: while the peer is inside one (and so is its
// echo), it waits for the frame's end.
bool EchoWorker::send_ping(int fd, Connection& c) {
  if (!c.frames.at_boundary()) {
    c.ping_owed = true;
    return true;
  }
  c.ping_owed = false;
  counters_.count(counters_.pings_sent);
  return echo(fd, c, net::control_frame(net::FrameType::ping));
}

void EchoWorker::check_slow_readers(Timestamp current) {
  std::erase_if(output_full_, [&](int fd) {
    if (!shared_.table.held_by(fd, index_)) return true;  // closed
    Connection& c = shared_.table[fd];
    if (c.pending == nullptr || c.pending->full_since == 0) return true;  // caught up
    if (elapsed(c.pending->full_since, current) < settings_.slow_reader_grace.count()) return false;
    close_connection(fd, c, CloseCause::slow_reader, {});
    return true;
  });
}

}  // namespace tcpka::tools
