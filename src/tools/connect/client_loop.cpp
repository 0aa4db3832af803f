#include "connect/client_loop.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "cli/close_event.h"
#include "net/listener.h"
#include "net/poll_token.h"
#include "tcpka/errno_name.h"
#include "tcpka/socket_options.h"
#include "tcpka/tcp_state.h"

namespace tcpka::tools {
namespace {

// What a ready descriptor is (net::PollToken::kind); slots carry their index.
enum TokenKind : std::uint32_t { kSlot = 1, kStopSignal = 2 };

std::uint64_t slot_token(std::size_t index) {
  return net::PollToken{kSlot, static_cast<std::uint32_t>(index)}.packed();
}

constexpr Millis kFirstBackoff{100};
constexpr Millis kMaxBackoff{30'000};
// A connection that lived this long was not a failure: its successor starts over.
constexpr Millis kHealthyLifetime{1'000};

Millis since(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<Millis>(to - from);
}

}  // namespace

Result<ClientLoop> ClientLoop::create(const ClientPlan& plan, EventLog& log, int stop_signal_fd) {
  auto poller = net::Poller::create();
  if (!poller) return poller.error();
  if (stop_signal_fd >= 0) {
    if (auto added = poller->add(stop_signal_fd, EPOLLIN, net::PollToken{kStopSignal}.packed());
        !added) {
      return added.error();
    }
  }
  return ClientLoop(plan, log, stop_signal_fd, std::move(*poller));
}

ClientLoop::ClientLoop(const ClientPlan& plan, EventLog& log, int stop_signal_fd,
                       net::Poller poller)
    : plan_(plan),
      log_(log),
      stop_signal_fd_(stop_signal_fd),
      poller_(std::move(poller)),
      slots_(plan.count),
      buffer_(std::size_t{64} * 1024) {
  message_ = plan.message;
  if (plan.heartbeat) {
    message_.clear();
    net::append_data_frames(message_, plan.message);
    heartbeat_tick_ = heartbeat_tick(*plan.heartbeat);
    heartbeat_wheel_.reserve(plan.count);
  }
}

Millis ClientLoop::since_start(Clock::time_point now) const {
  return std::chrono::duration_cast<Millis>(now - started_);
}

// --- the loop ----------------------------------------------------------------------

ClientTotals ClientLoop::run() {
  started_ = next_open_ = Clock::now();
  while (!stopping_) {
    Clock::time_point now = Clock::now();
    if (plan_.duration > Millis(0) && now - started_ >= plan_.duration) break;
    open_due(now);
    if (finished()) break;
    poller_.wait(next_timeout(now), [&](std::uint64_t token, std::uint32_t events) {
      if (net::PollToken::unpack(token).kind == kStopSignal) {
        signalfd_siginfo info{};
        while (::read(stop_signal_fd_, &info, sizeof(info)) == sizeof(info))
          stopping_ = true;
        return;
      }
      on_event(net::PollToken::unpack(token).index, events);
    });
    now = Clock::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      const Timer timer = timers_.top();
      timers_.pop();
      on_timer(timer, now);
    }
    if (plan_.heartbeat) {
      const auto tick = static_cast<DeadlineWheel::Tick>(since_start(now) / heartbeat_tick_);
      heartbeat_wheel_.advance(tick, [&](DeadlineWheel::Key key) { check_heartbeat(key, now); });
    }
    log_.write(log_batch_);
    log_batch_.clear();
  }
  stopping_ = true;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.state == Slot::State::open || slot.state == Slot::State::connecting) {
      end(i, slot, CloseCause::local, {});
    }
  }
  log_.write(log_batch_);
  log_batch_.clear();
  return totals_;
}

Millis ClientLoop::next_timeout(Clock::time_point now) const {
  Clock::time_point wake = Clock::time_point::max();
  if (!timers_.empty()) wake = timers_.top().due;
  if (next_to_open_ < slots_.size()) wake = std::min(wake, next_open_);
  if (plan_.duration > Millis(0)) wake = std::min(wake, started_ + plan_.duration);
  if (const auto due = heartbeat_wheel_.next_due()) {
    wake = std::min(wake, started_ + heartbeat_tick_ * static_cast<std::int64_t>(*due));
  }
  if (wake == Clock::time_point::max()) return Millis(-1);
  // Round up: waking a millisecond early would spin until the deadline.
  return std::max(Millis(0), std::chrono::ceil<Millis>(wake - now));
}

bool ClientLoop::finished() const {
  if (next_to_open_ < slots_.size()) return false;
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const Slot& slot) { return slot.state == Slot::State::done; });
}

void ClientLoop::open_due(Clock::time_point now) {
  if (plan_.rate <= 0) {
    while (next_to_open_ < slots_.size())
      start(next_to_open_++, now);
    return;
  }
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / plan_.rate));
  while (next_to_open_ < slots_.size() && next_open_ <= now) {
    start(next_to_open_++, now);
    next_open_ += interval;
  }
}

// --- one connection ------------------------------------------------------------------

void ClientLoop::start(std::size_t index, Clock::time_point now) {
  Slot& slot = slots_[index];
  ++slot.generation;
  slot.started = now;
  slot.bytes_in = slot.bytes_out = 0;
  slot.to_send = slot.awaited = 0;
  slot.local = {};
  ++totals_.attempted;
  slot.fd =
      ::socket(plan_.target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (slot.fd < 0) {
    slot.state = Slot::State::connecting;  // so that end() counts it as a failed attempt
    end(index, slot, CloseCause::unknown, errno_code(errno));
    return;
  }
  slot.state = Slot::State::connecting;
  if (plan_.policy) {
    if (auto applied = apply_policy(slot.fd, *plan_.policy); !applied) {
      end(index, slot, CloseCause::unknown, applied.error().code);
      return;
    }
  }
  if (!plan_.sources.empty()) {
    // Bind the address only: the port is chosen at connect(), per destination, so each
    // source address offers its whole port range to each server.
    const int on = 1;
    const net::SocketAddress& source = plan_.sources[next_source_++ % plan_.sources.size()];
    if (::setsockopt(slot.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on)) != 0 ||
        ::bind(slot.fd, source.get(), source.length) != 0) {
      end(index, slot, CloseCause::unknown, errno_code(errno));
      return;
    }
  }
  if (::connect(slot.fd, plan_.target.get(), plan_.target.length) == 0) {
    if (!poller_.add(slot.fd, EPOLLIN | EPOLLRDHUP, slot_token(index))) {
      end(index, slot, CloseCause::unknown, errno_code(errno));
      return;
    }
    on_connected(index, slot);
    return;
  }
  if (errno != EINPROGRESS) {
    end_by_kernel(index, slot, errno);
    return;
  }
  if (!poller_.add(slot.fd, EPOLLOUT, slot_token(index))) {
    end(index, slot, CloseCause::unknown, errno_code(errno));
  }
}

void ClientLoop::on_event(std::size_t index, std::uint32_t events) {
  if (index >= slots_.size()) return;
  Slot& slot = slots_[index];
  if (slot.state != Slot::State::connecting && slot.state != Slot::State::open) return;
  if ((events & EPOLLERR) != 0 || slot.state == Slot::State::connecting) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) {
      end_by_kernel(index, slot, error);
      return;
    }
    if (slot.state == Slot::State::connecting) {
      if ((events & EPOLLOUT) == 0) return;
      on_connected(index, slot);
      return;
    }
  }
  if ((events & EPOLLOUT) != 0) {
    flush_message(index, slot);
    if (slot.state != Slot::State::open) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) on_readable(index, slot);
}

void ClientLoop::on_connected(std::size_t index, Slot& slot) {
  const Clock::time_point now = Clock::now();
  slot.state = Slot::State::open;
  slot.opened = slot.last_received = now;
  if (auto local = net::local_address(slot.fd)) slot.local = net::compact(*local);
  ++totals_.established;
  ++totals_.open;
  if (!poller_.modify(slot.fd, EPOLLIN | EPOLLRDHUP, slot_token(index))) {
    end(index, slot, CloseCause::unknown, errno_code(errno));
    return;
  }
  if (plan_.heartbeat) {
    slot.frames = {};
    slot.heartbeats_out.clear();
    slot.detector.emplace(*plan_.heartbeat, since_start(now));
    arm_heartbeat(index, slot, since_start(now));
  }
  if (plan_.message.empty()) return;
  if (plan_.send_every == Millis(0)) {
    send_message(index, slot);
    return;
  }
  // Each connection starts its period at a random point, so that many connections make
  // a steady load rather than a burst every period.
  std::uniform_int_distribution<std::int64_t> offset(0, plan_.send_every.count() - 1);
  schedule(index, now + Millis(offset(random_)));
}

// Starts the next message, unless the previous one's echo is still on its way (then this
// round is skipped: one message in flight per connection keeps round trips honest).
void ClientLoop::send_message(std::size_t index, Slot& slot) {
  if (slot.awaited > 0 || slot.to_send > 0 || !slot.heartbeats_out.empty()) return;
  slot.to_send = slot.awaited = message_.size();
  slot.message_sent = Clock::now();
  flush_message(index, slot);
}

// Sends what is left of the message, then the heartbeats waiting behind it: a ping or
// pong never lands inside a data frame, and a message waits for the heartbeats.
void ClientLoop::flush_message(std::size_t index, Slot& slot) {
  const auto send_some = [&](const char* data, std::size_t size) -> ssize_t {
    while (true) {
      const ssize_t n = ::send(slot.fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
      if (n < 0) return -1;
      slot.bytes_out += static_cast<std::uint64_t>(n);
      totals_.bytes_out += static_cast<std::uint64_t>(n);
      return n;
    }
  };
  bool blocked = false;
  while (slot.to_send > 0 && !blocked) {
    const ssize_t n = send_some(message_.data() + (message_.size() - slot.to_send), slot.to_send);
    if (n < 0) {
      end_by_kernel(index, slot, errno);
      return;
    }
    blocked = n == 0;
    slot.to_send -= static_cast<std::size_t>(n);
  }
  while (slot.to_send == 0 && !slot.heartbeats_out.empty() && !blocked) {
    const ssize_t n = send_some(slot.heartbeats_out.data(), slot.heartbeats_out.size());
    if (n < 0) {
      end_by_kernel(index, slot, errno);
      return;
    }
    blocked = n == 0;
    slot.heartbeats_out.erase(0, static_cast<std::size_t>(n));
  }
  const bool pending = slot.to_send > 0 || !slot.heartbeats_out.empty();
  const std::uint32_t events = EPOLLIN | EPOLLRDHUP | (pending ? EPOLLOUT : 0u);
  if (!poller_.modify(slot.fd, events, slot_token(index))) {
    end(index, slot, CloseCause::unknown, errno_code(errno));
  }
}

void ClientLoop::on_readable(std::size_t index, Slot& slot) {
  for (int round = 0; round < net::kReadsPerReadiness; ++round) {
    const ssize_t n = ::recv(slot.fd, buffer_.data(), buffer_.size(), 0);
    if (n > 0) {
      const Clock::time_point now = Clock::now();
      const auto received = static_cast<std::size_t>(n);
      slot.bytes_in += received;
      totals_.bytes_in += received;
      slot.last_received = now;
      on_received(index, slot, std::string_view(buffer_.data(), received), now);
      if (slot.state != Slot::State::open) return;
      if (received < buffer_.size()) return;  // drained: no read just to hear EAGAIN
      continue;
    }
    if (n == 0) {
      end(index, slot, CloseCause::peer_closed, {});
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    end_by_kernel(index, slot, errno);
    return;
  }
}

// Counts echoed bytes toward the message in flight. In framed mode only the data frames'
// bytes count; a ping is answered, and every frame tells the detector the peer lives.
void ClientLoop::on_received(std::size_t index, Slot& slot, std::string_view bytes,
                             Clock::time_point now) {
  const auto echoed = [&](std::size_t n) {
    if (slot.awaited == 0) return;
    slot.awaited -= std::min(slot.awaited, n);
    if (slot.awaited == 0 && now - started_ >= plan_.warmup) {
      totals_.round_trips.record(
          std::chrono::duration_cast<LatencyHistogram::Micros>(now - slot.message_sent));
    }
  };
  if (!plan_.heartbeat) {
    echoed(bytes.size());
    return;
  }
  bool heartbeat = false;
  const net::FrameStatus status = net::read_frames(
      slot.frames, bytes, [&](std::string_view data) { echoed(data.size()); },
      [&] {
        heartbeat = true;
        slot.heartbeats_out += net::control_frame(net::FrameType::pong);
      },
      [&] {
        heartbeat = true;
        ++totals_.pongs_received;
      });
  if (status == net::FrameStatus::malformed) {
    end(index, slot, CloseCause::protocol_error, {});
    return;
  }
  slot.detector->heard(since_start(now), heartbeat);
  if (!slot.heartbeats_out.empty()) flush_message(index, slot);
}

// The wheel says a connection's heartbeat deadline may have come: it is dead, or owes a
// ping, or heard from its peer since and only needs its deadline filed again.
void ClientLoop::check_heartbeat(std::size_t index, Clock::time_point now) {
  Slot& slot = slots_[index];
  if (slot.state != Slot::State::open || !slot.detector) return;
  const Millis t = since_start(now);
  if (t >= slot.detector->dead_at()) {
    // Read what waits before judging: after a pause of our own (a stopped process, a
    // long stall) the peer's bytes may be in the socket, unseen, and they count.
    const Millis heard = slot.detector->last_heard();
    on_readable(index, slot);
    if (slot.state != Slot::State::open) return;
    if (slot.detector->last_heard() == heard) {
      end(index, slot, CloseCause::heartbeat_timeout, {});
      return;
    }
  }
  // A ping after an interval of silence, and another after each further interval: the
  // wheel comes at those times (arm_heartbeat), or earlier only if the peer spoke since.
  if (t - slot.detector->last_heard() >= plan_.heartbeat->interval) {
    slot.heartbeats_out += net::control_frame(net::FrameType::ping);
    ++totals_.pings_sent;
    flush_message(index, slot);
    if (slot.state != Slot::State::open) return;
  }
  arm_heartbeat(index, slot, t);
}

// The next moment a connection's heartbeat needs a look: its next ping (an interval,
// two intervals... after the last bytes heard) or its death, whichever comes first.
void ClientLoop::arm_heartbeat(std::size_t index, const Slot& slot, Millis now) {
  const Millis interval = plan_.heartbeat->interval;
  const Millis last = slot.detector->last_heard();
  const Millis silence = std::max(Millis(0), now - last);
  const Millis next_ping = last + interval * (silence / interval + 1);
  const Millis due = std::min(next_ping, slot.detector->dead_at());
  // Round up: a deadline is never looked at before it has come.
  heartbeat_wheel_.arm(
      static_cast<DeadlineWheel::Key>(index),
      static_cast<DeadlineWheel::Tick>((due + heartbeat_tick_ - Millis(1)) / heartbeat_tick_));
}

void ClientLoop::end_by_kernel(std::size_t index, Slot& slot, int error) {
  CloseEvidence evidence;
  evidence.error = errno_code(error);
  evidence.connecting = slot.state == Slot::State::connecting;
  evidence.keepalive_armed = plan_.keepalive_armed;
  evidence.user_timeout_armed = plan_.user_timeout_armed;
  if (slot.fd >= 0) {
    if (auto state = read_tcp_state(slot.fd)) evidence.last_state = *state;
  }
  end(index, slot, classify_close(evidence), evidence.error);
}

void ClientLoop::end(std::size_t index, Slot& slot, CloseCause cause, std::error_code error) {
  const Clock::time_point now = Clock::now();
  const bool was_open = slot.state == Slot::State::open;
  if (log_.enabled()) {
    CloseEvent event;
    event.peer = net::to_string(plan_.target);
    event.local = was_open ? net::to_string(slot.local) : std::string("-");
    event.duration = since(was_open ? slot.opened : slot.started, now);
    event.bytes_in = slot.bytes_in;
    event.bytes_out = slot.bytes_out;
    event.cause = cause;
    event.error = error;
    if (was_open) event.since_last_received = since(slot.last_received, now);
    if (slot.fd >= 0) {
      if (auto state = read_tcp_state(slot.fd)) {
        event.probes = state->probes;
        event.retransmits = state->total_retransmits;
      }
    }
    log_batch_ += format_close_event(event, log_.format());
  }
  if (was_open) --totals_.open;
  if (stopping_) {
    // The run is over, not the connection: it counts as open at the end, not as closed.
    ++(was_open ? totals_.open_at_end : totals_.abandoned);
  } else {
    ++(was_open ? totals_.closed : totals_.failed);
    ++totals_.ended_by_cause[static_cast<std::size_t>(cause)];
  }
  if (slot.fd >= 0) ::close(slot.fd);
  slot.fd = -1;
  if (plan_.heartbeat) {
    heartbeat_wheel_.cancel(static_cast<DeadlineWheel::Key>(index));
    slot.detector.reset();
  }

  if (!plan_.reconnect || stopping_) {
    slot.state = Slot::State::done;
    return;
  }
  // Back off exponentially, with jitter, while connections keep failing fast.
  if (was_open && since(slot.opened, now) >= kHealthyLifetime) {
    slot.backoff = kFirstBackoff;
  } else {
    slot.backoff = std::clamp(slot.backoff * 2, kFirstBackoff, kMaxBackoff);
  }
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto delay =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
          static_cast<double>(slot.backoff.count()) * jitter(random_)));
  slot.state = Slot::State::waiting;
  ++slot.generation;
  schedule(index, now + delay);
}

void ClientLoop::schedule(std::size_t index, Clock::time_point due) {
  timers_.push(Timer{due, index, slots_[index].generation});
}

void ClientLoop::on_timer(const Timer& timer, Clock::time_point now) {
  Slot& slot = slots_[timer.slot];
  if (timer.generation != slot.generation) return;  // for an earlier connection
  if (slot.state == Slot::State::waiting) {
    start(timer.slot, now);
  } else if (slot.state == Slot::State::open) {
    send_message(timer.slot, slot);
    if (slot.state == Slot::State::open) schedule(timer.slot, timer.due + plan_.send_every);
  }
}

// --- the summary -----------------------------------------------------------------------

std::string render_client_summary(const ClientTotals& t, LogFormat format) {
  const auto ms = [](LatencyHistogram::Micros value) {
    return static_cast<double>(value.count()) / 1000.0;
  };
  if (format == LogFormat::json) {
    nlohmann::json causes = nlohmann::json::object();
    for (std::size_t i = 0; i < t.ended_by_cause.size(); ++i) {
      if (t.ended_by_cause[i] != 0) {
        causes[std::string(to_string(static_cast<CloseCause>(i)))] = t.ended_by_cause[i];
      }
    }
    nlohmann::json summary{{"event", "summary"},
                           {"attempted", t.attempted},
                           {"established", t.established},
                           {"failed", t.failed},
                           {"closed", t.closed},
                           {"open_at_end", t.open_at_end},
                           {"abandoned", t.abandoned},
                           {"ended_by_cause", causes},
                           {"bytes_out", t.bytes_out},
                           {"bytes_in", t.bytes_in},
                           {"round_trips", t.round_trips.count()},
                           {"pings_sent", t.pings_sent},
                           {"pongs_received", t.pongs_received}};
    if (t.round_trips.count() > 0) {
      summary["round_trip_ms"] = {{"p50", ms(t.round_trips.percentile(0.5))},
                                  {"p99", ms(t.round_trips.percentile(0.99))},
                                  {"max", ms(t.round_trips.max())}};
    }
    return summary.dump() + "\n";
  }
  std::string causes;
  for (std::size_t i = 0; i < t.ended_by_cause.size(); ++i) {
    if (t.ended_by_cause[i] == 0) continue;
    causes += fmt::format("{}{} {}", causes.empty() ? "" : ", ",
                          to_string(static_cast<CloseCause>(i)), t.ended_by_cause[i]);
  }
  std::string text = fmt::format(
      "connected {} of {} attempts ({} failed{}); {} ended during the run{}{}; {} open at the "
      "end; {}B out, {}B in",
      t.established, t.attempted, t.failed,
      t.abandoned == 0 ? std::string() : fmt::format(", {} still connecting", t.abandoned),
      t.closed, causes.empty() ? "" : ": ", causes, t.open_at_end, t.bytes_out, t.bytes_in);
  if (t.pings_sent > 0 || t.pongs_received > 0) {
    text += fmt::format("; {} pings sent, {} pongs received", t.pings_sent, t.pongs_received);
  }
  if (t.round_trips.count() > 0) {
    text += fmt::format("; echo round trip p50 {:.3f}ms p99 {:.3f}ms max {:.3f}ms over {} messages",
                        ms(t.round_trips.percentile(0.5)), ms(t.round_trips.percentile(0.99)),
                        ms(t.round_trips.max()), t.round_trips.count());
  }
  return text + "\n";
}

}  // namespace tcpka::tools
