// One thread of `tcpka serve`: an epoll loop that accepts on its own listeners (SO_REUSEPORT
// spreads connections over the workers), echoes what it reads, keeps each peer's pending
// output bounded, closes idle and slow peers, and logs every close with its cause.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/event_log.h"
#include "net/acceptor.h"
#include "net/poller.h"
#include "serve/connection_table.h"
#include "serve/per_ip_limiter.h"
#include "serve/server_stats.h"
#include "tcpka/close_cause.h"
#include "tcpka/deadline_wheel.h"
#include "tcpka/heartbeat.h"
#include "tcpka/policy.h"

namespace tcpka::tools {

// How every worker behaves; read-only once the workers run.
struct ServeSettings {
  std::size_t max_buffer = std::size_t{64} * 1024;  // pending output per connection
  Millis slow_reader_grace{10'000};                 // how long output may stay at that bound
  Millis idle_timeout{0};                           // zero: none
  std::uint64_t max_conns = 0;                      // zero: no limit
  bool keepalive_armed = false;                     // for classifying ETIMEDOUT
  bool user_timeout_armed = false;
  // What accepted sockets must have inherited from the listener; debug builds check it.
  std::optional<ResolvedPolicy> inherited;
  // Framed mode (docs/heartbeats.md): ping peers silent for an interval, end those that
  // stay silent, and end those that ping more often than min_ping_interval.
  std::optional<HeartbeatPolicy> heartbeat;
  Millis min_ping_interval{0};
};

// What the workers share.
struct ServerShared {
  ConnectionTable table;
  PerIpLimiter per_ip;
  EventLog& log;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> open{0};
};

struct BoundListener {
  net::UniqueFd fd;
  std::string address;  // as it is bound ("127.0.0.1:7001"), the local side of its connections
};

class EchoWorker {
 public:
  static Result<std::unique_ptr<EchoWorker>> create(int index, std::vector<BoundListener> listeners,
                                                    const ServeSettings& settings,
                                                    ServerShared& shared, WorkerCounters& counters);

  // Serves until stop(), then closes its listeners and returns; its connections stay
  // open until close_all().
  void run();
  // Asks run() to return; callable from any thread.
  void stop();
  // Closes every connection this worker holds (cause `local`). Call once no worker
  // runs any more: it is the one time a loop looks at slots it may not hold.
  void close_all();

 private:
  // Why a connection was turned away at accept; reported once a second, by reason.
  enum Refusal : std::uint8_t { kMaxConns, kPerIp, kBeyondTable, kOutOfFds, kRefusalCount };

  EchoWorker(int index, std::vector<BoundListener> listeners, const ServeSettings& settings,
             ServerShared& shared, WorkerCounters& counters, net::Poller poller,
             net::Acceptor acceptor, net::UniqueFd wakeup);

  Timestamp now() const;
  Millis next_timeout() const;
  void dispatch(std::uint64_t token, std::uint32_t events);
  void flush_log();

  // Accepting.
  void on_listener(std::size_t index);
  void admit(net::UniqueFd fd, const net::SocketAddress& peer, std::size_t listener);
  void refuse(Refusal reason, std::uint64_t n = 1);
  void verify_inherited_policy(int fd);

  // A connection's life. Each returns false once it closed the connection, after which
  // the slot is no longer this worker's to touch.
  void on_connection(int fd, std::uint32_t events);
  bool on_readable(int fd, Connection& c);
  bool on_writable(int fd, Connection& c);
  bool echo(int fd, Connection& c, std::string_view bytes);
  bool watch(int fd, Connection& c);
  void end_by_kernel(int fd, Connection& c, int error);
  void close_connection(int fd, Connection& c, CloseCause cause, std::error_code error);

  // Framed mode: the peer's frames, and the heartbeats this side sends.
  bool on_frames(int fd, Connection& c, std::string_view bytes);
  bool on_ping(int fd, Connection& c);
  bool send_ping(int fd, Connection& c);

  // Timers.
  Timestamp dead_at(int fd, const Connection& c) const;  // heartbeat_timeout
  void arm_deadline(int fd, const Connection& c);
  void on_deadline(int fd, Timestamp now);
  void check_slow_readers(Timestamp now);
  void resume_paused_listeners(Timestamp now);
  void report_refusals(Timestamp now);

  int index_;
  std::vector<BoundListener> listeners_;
  const ServeSettings& settings_;
  ServerShared& shared_;
  WorkerCounters& counters_;
  net::Poller poller_;
  net::Acceptor acceptor_;
  net::UniqueFd wakeup_;
  std::atomic<bool> stopping_{false};

  std::vector<char> buffer_;  // one read's worth, shared by every connection
  // Each connection's next idle or heartbeat deadline (only with --idle-timeout or
  // --heartbeat), in ticks of tick_ms_ since the start; keys are descriptors, kept in the
  // table.
  std::optional<DeadlineWheel> wheel_;
  std::uint64_t tick_ms_ = 1;
  std::unordered_map<int, HeartbeatDetector> phi_;  // --heartbeat ...,phi=X only
  std::vector<int> output_full_;                    // connections whose output sits at its bound
  std::vector<Timestamp> listener_paused_until_;    // 0: listening
  std::string log_batch_;                           // lines for the next write
  std::array<std::uint64_t, kRefusalCount> refusals_unreported_{};
  Timestamp next_refusal_report_ = 0;
};

}  // namespace tcpka::tools
