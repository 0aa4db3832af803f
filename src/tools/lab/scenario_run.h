// The inside of run_scenario(): one scenario's run, split over files by phase
// (scenario_runner.cpp: the whole and the network; scenario_connect.cpp: the
// connection; scenario_watch.cpp: the fault and the watching; scenario_black_box.cpp:
// the user's own server). Not for use outside the lab.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lab/peer_process.h"
#include "lab/scenario_runner.h"
#include "lab/target_process.h"
#include "lab/wine_client.h"
#include "net/packet_capture.h"
#include "net/sock_diag.h"
#include "net/unique_fd.h"
#include "tcpka/tcp_state.h"

namespace tcpka::tools::lab::detail {

using Clock = std::chrono::steady_clock;

inline constexpr Millis kSetupTimeout{3'000};
// How long a survival check waits for its byte to cross.
inline constexpr Millis kCrossingWait{2'000};
// Beyond the model's bound, how long a connection that should survive is watched.
inline constexpr Millis kSurvivalMargin{1'000};
inline constexpr Millis kSlice{50};  // the watch loop's poll slice: Ctrl-C is seen this fast
// A window this small fills within milliseconds.
inline constexpr int kSmallReceiveBuffer = 4096;
// Black-box mode: how long the user's server may take to echo a byte (a server that does
// not echo costs this once per scenario; they run at once). How long it may take to
// listen is the user's (--target-startup).
inline constexpr Millis kEchoWait{2'000};
// Black-box mode: the connection is quiet once nothing crossed the server's link this long.
inline constexpr Millis kSettled{300};
// Phi's rows: the pongs the lab waits for before it breaks the peer, so that the
// detector has learned the path, and how long it waits for them at most.
inline constexpr std::size_t kPhiSamples = 8;
inline constexpr Millis kLearningLimit{10'000};
// Black-box mode: how long the user's program may take to close a connection whose EOF
// it was given.
inline constexpr Millis kTargetReaction{1'000};
// Black-box mode: how many of the target's last lines of output a report shows.
inline constexpr std::size_t kTargetOutputLines = 5;
// Windows mode: Wine makes the client's prefix before the program runs (about 7 s alone,
// longer beside the other scenarios).
inline constexpr Millis kWineStartup{90'000};
// The count Windows fixes when keepalive goes through SIO_KEEPALIVE_VALS; Wine leaves the
// count to Linux's tcp_keepalive_probes, which the lab sets to it in the client host.
inline constexpr int kWindowsFixedCount = 10;
// Partitions: a long outage outlasts the bound by this much; a short one must heal this
// long before the last probe leaves, for timers that fire late.
inline constexpr Millis kPastTheBound{3'000};
inline constexpr Millis kHealMargin{100};

// A moment on both clocks: steady for measuring, the wall clock for the capture.
struct Moment {
  Clock::time_point steady;
  std::int64_t wall_us = 0;

  static Moment now() {
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    return {Clock::now(), std::chrono::duration_cast<std::chrono::microseconds>(wall).count()};
  }
  // The instant a capture stamped `wall` (microseconds since the epoch), placed on the
  // steady clock through this moment.
  Moment at(std::int64_t wall) const {
    const std::chrono::microseconds apart(wall - wall_us);
    return {steady + std::chrono::duration_cast<Clock::duration>(apart), wall};
  }
};

Host peer_of(Host detector);
Error failure(const std::string& what);  // from errno
// Waits up to `timeout` for `fd` to be readable.
bool readable_within(int fd, Millis timeout);
Result<net::UniqueFd> accept_within(int listener, Millis timeout);
Result<void> read_one_byte(int fd, Millis timeout);
Result<void> send_bytes(int fd, std::size_t size);
Result<void> send_text(int fd, std::string_view text);  // all of it; nothing when empty
// The capture time of the last TCP segment that `fd`'s peer sent (before `before_us`, when
// given), if the capture has one.
std::optional<std::int64_t> last_captured_from_peer(
    int fd, std::span<const net::CapturedPacket> packets,
    std::optional<std::int64_t> before_us = std::nullopt);
// Closes a socket without a FIN or RST, as a host that loses power does (TCP_REPAIR
// needs CAP_NET_ADMIN, which the lab has in its namespaces).
Result<void> vanish(net::UniqueFd& fd);

class Run {
 public:
  Run(const ScenarioSpec& spec, const RunLimits& limits, ScenarioStatus& status)
      : spec_(spec), limits_(limits), status_(status) {}

  ScenarioResult go();

 private:
  bool stopped() const { return limits_.stop != nullptr && limits_.stop->load(); }

  Result<void> build();
  Result<void> set_sysctls();
  Result<void> install_nat();
  Result<void> connect_peers();
  Result<void> start_target();
  Result<void> connect_to_target();
  Moment target_quiet_moment();
  void read_target_settings();
  std::optional<std::int64_t> target_end_on_the_wire() const;
  Result<void> crash_with_echo_in_flight();
  Result<std::optional<net::TcpSocketEntry>> target_connection();
  Result<Measurement> watch_target();
  Result<void> connect_windows_client();
  Result<std::string> wait_for_windows_line(std::string_view prefix, Millis timeout);
  Result<Measurement> watch_windows_client();
  Result<void> connect_blackholed(ScenarioResult& result);
  Result<void> prepare_activity();
  Result<Expectation> expect();
  Expectation expect_heartbeat(const PathFacts& path);
  std::vector<Millis> heartbeat_gaps_seen();
  Result<void> break_peer();
  Result<void> heal();
  Result<Measurement> watch(const Expectation& expected);
  Measurement ended(Millis after, std::error_code error, bool end_of_file);
  Moment peer_closed_moment();
  Moment peer_last_segment_moment();
  Result<Measurement> check_survival();
  // Heartbeat scenarios: when the peer's application last spoke, from the capture; and a
  // peer that resumes after a pause, watched until the heartbeat would have ended it.
  Moment last_message_moment();
  std::optional<CloseCause> serve_close_cause() const;
  Result<Measurement> watch_pause(const Expectation& expected);
  void drain_capture();
  const Moment& origin_moment(Origin origin) const;
  void count_probes(ScenarioResult& result) const;

  const ScenarioSpec& spec_;
  const RunLimits& limits_;
  ScenarioStatus& status_;

  std::unique_ptr<Topology> topology_;
  std::optional<net::PacketCapture> capture_;
  std::vector<net::CapturedPacket> packets_;
  net::UniqueFd listener_;
  net::UniqueFd detector_;  // the socket with the policy, which must notice
  net::UniqueFd peer_;      // the other end, when the lab holds it
  std::optional<PeerProcess> peer_process_;
  std::optional<TargetProcess> target_;         // black-box mode
  std::optional<net::CompactAddress> watched_;  // the target's peer: our client
  std::optional<WineClient> windows_client_;    // Windows mode
  std::optional<int> windows_fixed_count_;      // the count the Windows path reported
  bool saw_keepalive_timer_ = false;
  std::optional<ResolvedPolicy> target_settings_;  // black-box mode: what its socket held
  std::string target_settings_source_;
  std::optional<TcpState> before_failure_;  // the detector's connection, just before

  Moment connect_start_;
  Moment last_segment_;
  Moment last_message_;  // heartbeat scenarios: the peer's last bytes before the failure
  Moment window_shut_;
  Millis outage_{0};  // partition: how long, from the policy
  Moment failure_;
  Moment first_send_;
  Moment reference_;  // the model's origin, once known
};

}  // namespace tcpka::tools::lab::detail
