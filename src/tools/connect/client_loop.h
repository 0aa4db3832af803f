// The engine of `tcpka connect`: one epoll loop that opens connections at a given rate
// from a set of source addresses, sends and times echoed messages, reconnects with
// backoff, and reports every end with its cause, as serve does.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "cli/event_log.h"
#include "connect/latency_histogram.h"
#include "net/compact_address.h"
#include "net/heartbeat_frames.h"
#include "net/poller.h"
#include "tcpka/close_cause.h"
#include "tcpka/deadline_wheel.h"
#include "tcpka/heartbeat.h"
#include "tcpka/policy.h"

namespace tcpka::tools {

struct ClientPlan {
  net::SocketAddress target;
  std::vector<net::SocketAddress> sources;  // empty: the kernel chooses
  std::optional<Policy> policy;             // applied before connect()
  bool keepalive_armed = false;             // for classifying ETIMEDOUT
  bool user_timeout_armed = false;
  std::uint64_t count = 1;
  double rate = 0;       // connections opened per second; 0: all at once
  std::string message;   // sent after connecting (--send), or every period
  Millis send_every{0};  // zero: the message is sent once
  Millis warmup{0};      // round trips completed before this are not counted
  Millis duration{0};    // zero: until stopped or every connection has ended
  bool reconnect = false;
  // Framed mode (docs/heartbeats.md): messages travel as data frames, and each connection
  // pings after an interval of silence and ends a peer that stays silent.
  std::optional<HeartbeatPolicy> heartbeat;
};

struct ClientTotals {
  std::uint64_t attempted = 0;  // connect() calls
  std::uint64_t established = 0;
  std::uint64_t failed = 0;  // attempts that never connected
  std::uint64_t closed = 0;  // established connections that ended during the run
  std::array<std::uint64_t, kCloseCauseCount> ended_by_cause{};  // failures and closes
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t open = 0;         // established and not ended, now
  std::uint64_t open_at_end = 0;  // still open when the run ended (then closed by us)
  std::uint64_t abandoned = 0;    // still connecting when the run ended
  std::uint64_t pings_sent = 0;
  std::uint64_t pongs_received = 0;
  LatencyHistogram round_trips;
};

std::string render_client_summary(const ClientTotals& totals, LogFormat format);

class ClientLoop {
 public:
  // `stop_signal_fd`, when valid, ends the run when readable (a signalfd).
  static Result<ClientLoop> create(const ClientPlan& plan, EventLog& log, int stop_signal_fd);

  // Runs until the plan's duration passes, every connection has ended for good, or the
  // stop signal comes; then closes what is open (cause `local`).
  ClientTotals run();

 private:
  using Clock = std::chrono::steady_clock;

  struct Slot {
    enum class State : std::uint8_t { waiting, connecting, open, done };
    int fd = -1;
    State state = State::waiting;
    std::uint32_t generation = 0;  // tells timers of an earlier connection apart
    Clock::time_point started{};   // connect() called
    Clock::time_point opened{};
    Clock::time_point last_received{};
    Clock::time_point message_sent{};
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::size_t to_send = 0;  // bytes of the current message not yet sent
    std::size_t awaited = 0;  // echoed bytes still expected
    Millis backoff{0};
    net::CompactAddress local;
    // Framed mode only.
    net::FrameReader frames;
    std::string heartbeats_out;  // pings and pongs not yet sent; they follow the message
    std::optional<HeartbeatDetector> detector;
  };

  struct Timer {
    Clock::time_point due;
    std::size_t slot;
    std::uint32_t generation;
    bool operator>(const Timer& other) const { return due > other.due; }
  };

  ClientLoop(const ClientPlan& plan, EventLog& log, int stop_signal_fd, net::Poller poller);

  void open_due(Clock::time_point now);
  void start(std::size_t index, Clock::time_point now);
  void on_event(std::size_t index, std::uint32_t events);
  void on_connected(std::size_t index, Slot& slot);
  void on_readable(std::size_t index, Slot& slot);
  void send_message(std::size_t index, Slot& slot);
  void flush_message(std::size_t index, Slot& slot);
  void end(std::size_t index, Slot& slot, CloseCause cause, std::error_code error);
  void end_by_kernel(std::size_t index, Slot& slot, int error);
  void on_timer(const Timer& timer, Clock::time_point now);
  // Framed mode.
  void on_received(std::size_t index, Slot& slot, std::string_view bytes, Clock::time_point now);
  void check_heartbeat(std::size_t index, Clock::time_point now);
  void arm_heartbeat(std::size_t index, const Slot& slot, Millis now);  // now: since_start
  Millis since_start(Clock::time_point now) const;
  void schedule(std::size_t index, Clock::time_point due);
  Millis next_timeout(Clock::time_point now) const;
  bool finished() const;

  const ClientPlan& plan_;
  EventLog& log_;
  int stop_signal_fd_;
  net::Poller poller_;
  std::vector<Slot> slots_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  // Framed mode: each open connection's next heartbeat deadline, keyed by slot, in ticks
  // of heartbeat_tick() since the run started.
  std::string message_;  // what is sent: the plan's message, framed in framed mode
  DeadlineWheel heartbeat_wheel_;
  Millis heartbeat_tick_{1};
  std::size_t next_to_open_ = 0;
  Clock::time_point started_;
  Clock::time_point next_open_;
  std::size_t next_source_ = 0;
  std::mt19937 random_{std::random_device{}()};
  std::vector<char> buffer_;
  std::string log_batch_;
  ClientTotals totals_;
  bool stopping_ = false;
};

}  // namespace tcpka::tools
