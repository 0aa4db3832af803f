#include "serve/echo_worker.h"

#include <fmt/core.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cli/close_event.h"
#include "tcpka/socket_options.h"
#include "tcpka/tcp_state.h"

namespace tcpka::tools {
namespace {

// A registered descriptor's token: what it is in the high half, which one in the low.
enum TokenKind : std::uint64_t { kConnection = 1, kListener = 2, kWakeup = 3 };

std::uint64_t token(TokenKind kind, std::uint64_t value) {
  return (std::uint64_t{kind} << 32) | value;
}
TokenKind kind_of(std::uint64_t token) {
  return static_cast<TokenKind>(token >> 32);
}
std::uint32_t value_of(std::uint64_t token) {
  return static_cast<std::uint32_t>(token);
}

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
// Reads per readiness event, so that one fast peer cannot starve the others.
constexpr int kReadsPerEvent = 16;
constexpr Millis kSlowReaderCheck{100};
constexpr Millis kListenerPause{100};  // when out of descriptors and out of reserve
constexpr Timestamp kRefusalReportEvery = 1'000;

// t1 - t0 for timestamps that may have wrapped (32-bit milliseconds).
std::int64_t elapsed(Timestamp from, Timestamp to) {
  return static_cast<std::int32_t>(to - from);
}

std::error_code errno_code(int error) {
  return {error, std::generic_category()};
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
  if (settings_.idle_timeout > Millis(0)) idle_wheel_.emplace(settings_.idle_timeout);
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
    if (idle_wheel_) {
      idle_wheel_->advance(current,
                           [&](int fd, std::uint16_t bucket) { check_idle(fd, bucket, current); });
    }
    check_slow_readers(current);
    resume_paused_listeners(current);
    report_refusals(current);
    shared_.log.write(log_batch_);
    log_batch_.clear();
  }
  shut_down();
  shared_.log.write(log_batch_);
  log_batch_.clear();
}

// Sleeps until the next timer that has work, and forever when none has: an idle server
// with no idle timeout costs no CPU at all.
Millis EchoWorker::next_timeout() const {
  Millis timeout(-1);
  const auto sooner = [&](Millis candidate) {
    timeout = timeout.count() < 0 ? candidate : std::min(timeout, candidate);
  };
  if (idle_wheel_) sooner(idle_wheel_->tick());
  if (!output_full_.empty()) sooner(kSlowReaderCheck);
  for (Timestamp paused : listener_paused_until_) {
    if (paused != 0) sooner(kListenerPause);
  }
  if (refusals_unreported_ != 0) sooner(Millis(kRefusalReportEvery));
  return timeout;
}

void EchoWorker::dispatch(std::uint64_t t, std::uint32_t events) {
  switch (kind_of(t)) {
    case kConnection:
      on_connection(static_cast<int>(value_of(t)), events);
      return;
    case kListener:
      on_listener(value_of(t));
      return;
    case kWakeup: {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t n = ::read(wakeup_.get(), &count, sizeof(count));
      return;
    }
  }
}

// --- accepting -----------------------------------------------------------------------

void EchoWorker::on_listener(std::size_t index) {
  const net::AcceptRound round = acceptor_.accept_all(
      listeners_[index].fd.get(),
      [&](net::UniqueFd fd, const net::SocketAddress& peer) { admit(std::move(fd), peer, index); });
  if (round.dropped_out_of_fds > 0) {
    counters_.count(counters_.dropped_out_of_fds, round.dropped_out_of_fds);
    refusals_unreported_ += round.dropped_out_of_fds;
    refusal_reason_ = "out of file descriptors";
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
    refuse(counters_.refused_max_conns, "descriptor beyond the connection table");
    return;
  }
  const net::CompactAddress peer = net::compact(peer_address);
  const std::uint64_t open_before = shared_.open.fetch_add(1);
  if (settings_.max_conns != 0 && open_before >= settings_.max_conns) {
    shared_.open.fetch_sub(1);
    refuse(counters_.refused_max_conns,
           fmt::format("--max-conns {} reached", settings_.max_conns).c_str());
    return;
  }
  if (shared_.per_ip.enabled() && !shared_.per_ip.admit(net::ip_of(peer))) {
    shared_.open.fetch_sub(1);
    refuse(counters_.refused_per_ip, "--per-ip limit reached");
    return;
  }
  Connection& c = shared_.table[raw];
  c = Connection{};
  c.peer = peer;
  c.state = Connection::kOpen;
  c.owner = static_cast<std::uint8_t>(index_);
  c.listener = static_cast<std::uint8_t>(listener);
  c.opened = c.last_received = now();
  if (auto added = poller_.add(raw, EPOLLIN | EPOLLRDHUP,
                               token(kConnection, static_cast<std::uint32_t>(raw)));
      !added) {
    c = Connection{};
    shared_.open.fetch_sub(1);
    if (shared_.per_ip.enabled()) shared_.per_ip.release(net::ip_of(peer));
    counters_.count(counters_.accept_errors);
    return;
  }
  if (idle_wheel_) {
    c.idle_bucket = idle_wheel_->file(
        raw, c.last_received + static_cast<Timestamp>(settings_.idle_timeout.count()));
  }
  counters_.count(counters_.accepted);
  fd.release();  // the table owns it now
  verify_inherited_policy(raw);
}

void EchoWorker::refuse(std::atomic<std::uint64_t>& counter, const char* reason) {
  counters_.count(counter);
  ++refusals_unreported_;
  refusal_reason_ = reason;
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
  if (refusals_unreported_ == 0 || elapsed(next_refusal_report_, current) < 0) return;
  if (shared_.log.enabled()) {
    log_batch_ +=
        fmt::format("refused {} connection(s): {}\n", refusals_unreported_, refusal_reason_);
  }
  refusals_unreported_ = 0;
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
  Connection& c = shared_.table[fd];
  if (c.state == Connection::kFree || c.owner != index_) return;
  if ((events & EPOLLERR) != 0) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) {
      end_by_kernel(fd, c, error);
      return;
    }
  }
  if ((events & EPOLLOUT) != 0) {
    on_writable(fd, c);
    if (c.state == Connection::kFree) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) on_readable(fd, c);
}

void EchoWorker::on_readable(int fd, Connection& c) {
  for (int round = 0; round < kReadsPerEvent; ++round) {
    if (c.state != Connection::kOpen || c.reading_paused) return;
    std::size_t room = buffer_.size();
    if (c.pending != nullptr) room = std::min(room, settings_.max_buffer - c.pending->size());
    const ssize_t n = ::recv(fd, buffer_.data(), room, 0);
    if (n > 0) {
      c.bytes_in += static_cast<std::uint64_t>(n);
      c.last_received = now();
      counters_.count(counters_.bytes_in, static_cast<std::uint64_t>(n));
      if (!echo(fd, c, std::string_view(buffer_.data(), static_cast<std::size_t>(n)))) return;
      // A short read drained the socket: skip the read that would only say EAGAIN (the
      // level-triggered poller reports anything that arrives later).
      if (static_cast<std::size_t>(n) < room) return;
      continue;
    }
    if (n == 0) {
      // The peer has finished sending. Close now, or once what it sent is echoed.
      if (c.pending == nullptr) {
        close_connection(fd, c, CloseCause::peer_closed, {});
      } else {
        c.state = Connection::kDraining;
        watch(fd, c);
      }
      return;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return;
    if (error == EINTR) continue;
    end_by_kernel(fd, c, error);
    return;
  }
}

// Sends `bytes` back, keeping what the peer cannot take now. Returns false if the
// connection ended.
bool EchoWorker::echo(int fd, Connection& c, std::string_view bytes) {
  if (c.pending == nullptr) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      end_by_kernel(fd, c, errno);
      return false;
    }
    const auto sent = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    c.bytes_out += sent;
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
    c.output_full_since = std::max<Timestamp>(1, now());
    output_full_.push_back(fd);
  }
  watch(fd, c);
  return true;
}

void EchoWorker::on_writable(int fd, Connection& c) {
  OutputBuffer* out = c.pending;
  if (out == nullptr) {
    watch(fd, c);
    return;
  }
  while (out->size() > 0) {
    const ssize_t n =
        ::send(fd, out->bytes.data() + out->sent, out->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) break;
      end_by_kernel(fd, c, error);
      return;
    }
    out->sent += static_cast<std::size_t>(n);
    c.bytes_out += static_cast<std::uint64_t>(n);
    counters_.count(counters_.bytes_out, static_cast<std::uint64_t>(n));
  }
  if (out->size() == 0) {
    delete out;
    c.pending = nullptr;
    if (c.state == Connection::kDraining) {
      close_connection(fd, c, CloseCause::peer_closed, {});
      return;
    }
  } else if (out->sent > out->bytes.size() / 2) {
    out->bytes.erase(0, out->sent);
    out->sent = 0;
  }
  if (c.reading_paused && (c.pending == nullptr || c.pending->size() < settings_.max_buffer)) {
    c.reading_paused = false;
    c.output_full_since = 0;
  }
  watch(fd, c);
}

// Tells epoll what this connection waits for: input unless paused or draining, output
// while some is pending.
void EchoWorker::watch(int fd, const Connection& c) {
  std::uint32_t events = 0;
  if (c.state == Connection::kOpen && !c.reading_paused) events |= EPOLLIN | EPOLLRDHUP;
  if (c.pending != nullptr) events |= EPOLLOUT;
  if (!poller_.modify(fd, events, token(kConnection, static_cast<std::uint32_t>(fd)))) {
    counters_.count(counters_.accept_errors);
  }
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
    event.bytes_out = c.bytes_out;
    event.cause = cause;
    event.error = error;
    event.since_last_received = Millis(elapsed(c.last_received, current));
    if (auto state = read_tcp_state(fd)) {
      event.probes = state->probes;
      event.retransmits = state->total_retransmits;
    }
    log_batch_ += format_close_event(event, shared_.log.format());
  }
  counters_.count(counters_.closed_by_cause[static_cast<std::size_t>(cause)]);
  counters_.count(counters_.closed);
  shared_.open.fetch_sub(1);
  if (shared_.per_ip.enabled()) shared_.per_ip.release(net::ip_of(c.peer));
  delete c.pending;
  c = Connection{};
  ::close(fd);
}

// --- timers ----------------------------------------------------------------------------

void EchoWorker::check_idle(int fd, std::uint16_t bucket, Timestamp current) {
  Connection& c = shared_.table[fd];
  // A stale entry: the connection closed, or its descriptor now belongs to another one.
  if (c.state == Connection::kFree || c.owner != index_ || c.idle_bucket != bucket) return;
  const Timestamp deadline =
      c.last_received + static_cast<Timestamp>(settings_.idle_timeout.count());
  if (elapsed(deadline, current) >= 0) {
    close_connection(fd, c, CloseCause::idle_timeout, {});
  } else {
    c.idle_bucket = idle_wheel_->file(fd, deadline);
  }
}

void EchoWorker::check_slow_readers(Timestamp current) {
  std::erase_if(output_full_, [&](int fd) {
    Connection& c = shared_.table[fd];
    if (c.state == Connection::kFree || c.owner != index_ || c.output_full_since == 0) {
      return true;  // closed, or caught up
    }
    if (elapsed(c.output_full_since, current) < settings_.slow_reader_grace.count()) return false;
    close_connection(fd, c, CloseCause::slow_reader, {});
    return true;
  });
}

void EchoWorker::shut_down() {
  for (BoundListener& listener : listeners_)
    listener.fd.reset();
  for (std::size_t fd = 0; fd < shared_.table.capacity(); ++fd) {
    Connection& c = shared_.table[static_cast<int>(fd)];
    if (c.state != Connection::kFree && c.owner == index_) {
      close_connection(static_cast<int>(fd), c, CloseCause::local, {});
    }
  }
}

}  // namespace tcpka::tools
