// The detection model against the running kernel, on loopback and without privileges.
//
// A peer's host "goes silent" when a socket filter that accepts nothing is attached to
// its socket: its kernel then drops every segment of the connection before TCP sees it,
// exactly as if the host had crashed or its cable were cut. The other side's keepalive,
// retransmission and window-probe timers run for real; the test measures when the
// application learns of the death and checks it against predict()'s interval (the
// bound, up to bound * 1.125 + RTT + 50 ms: DESIGN.md's tolerance), the errno, the
// classified cause and the probe count the kernel leaves in TCP_INFO.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"
#include "tcpka/errno_name.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"
#include "tcpka/tcp_state.h"

namespace tcpka {
namespace {

using namespace testing;

constexpr Millis kLimit{20'000};  // every scenario here ends within seconds

struct Observed {
  Ending ending;
  TcpState post_mortem;
};

class DeadPeer : public ::testing::TestWithParam<int> {
 protected:
  TcpPair connect(const char* policy) { return connect_over_loopback(GetParam(), *parse_policy(policy)); }

  Detection predicted(PeerFailure failure, Activity activity, const char* policy, int fd) {
    const SystemDefaults system = *read_system_defaults();
    const ResolvedPolicy resolved = *resolve(*parse_policy(policy), system);
    const TcpState state = *read_tcp_state(fd);
    // The RTO as the kernel holds it for this connection; loopback's RTT is below 1 ms.
    const PathFacts path{Millis(1), std::chrono::duration_cast<Millis>(*state.rto)};
    return predict(failure, activity, resolved, system, path);
  }

  static Observed observe_end(int fd, Clock::time_point since) {
    auto ending = wait_for_end(fd, since, kLimit);
    if (!ending) throw std::runtime_error("the connection outlived the test's limit");
    return {*ending, *read_tcp_state(fd)};
  }

  static void expect_within(const Detection& d, const Observed& o) {
    ASSERT_TRUE(d.detected);
    EXPECT_TRUE(d.admits(o.ending.after))
        << "measured " << format_seconds(o.ending.after) << ", predicted "
        << format_seconds(d.earliest) << ".." << format_seconds(d.latest);
    EXPECT_EQ(errno_name(o.ending.error), errno_name(d.error));
  }

  static CloseCause classified(const Observed& o, bool keepalive, bool user_timeout) {
    CloseEvidence evidence;
    evidence.error = o.ending.error;
    evidence.end_of_file = o.ending.error == 0;
    evidence.keepalive_armed = keepalive;
    evidence.user_timeout_armed = user_timeout;
    evidence.last_state = o.post_mortem;
    return classify_close(evidence);
  }
};

// The seed's experiment, shortened: probes at 1 s and 2 s, death at 3 s.
TEST_P(DeadPeer, KeepaliveFindsASilentIdlePeer) {
  const char* policy = "idle=1s,intvl=1s,cnt=2";
  auto pair = connect(policy);
  send_bytes(pair.client.get(), 1);
  receive_bytes(pair.server.get(), 1);
  const Clock::time_point last_segment = Clock::now();
  silence(pair.client.get());
  const Detection d =
      predicted(PeerFailure::host_silent, Activity::idle, policy, pair.server.get());
  const Observed o = observe_end(pair.server.get(), last_segment);
  expect_within(d, o);
  EXPECT_EQ(o.post_mortem.probes, d.probes);
  EXPECT_EQ(classified(o, true, false), CloseCause::keepalive_timeout);
}

// ut=2500ms overrides cnt=5: the first timer run at or after 2.5 s, at 3 s, ends it.
TEST_P(DeadPeer, UserTimeoutOverridesTheProbeCount) {
  const char* policy = "idle=1s,intvl=1s,cnt=5,ut=2500ms";
  auto pair = connect(policy);
  send_bytes(pair.client.get(), 1);
  receive_bytes(pair.server.get(), 1);
  const Clock::time_point last_segment = Clock::now();
  silence(pair.client.get());
  const Detection d =
      predicted(PeerFailure::host_silent, Activity::idle, policy, pair.server.get());
  ASSERT_EQ(d.probes, 2);
  const Observed o = observe_end(pair.server.get(), last_segment);
  expect_within(d, o);
  EXPECT_EQ(o.post_mortem.probes, 2);
  EXPECT_EQ(classified(o, true, true), CloseCause::keepalive_timeout);
}

// ut=1s is shorter than idle: one unanswered probe is all the peer gets.
TEST_P(DeadPeer, UserTimeoutBelowIdleAllowsASingleProbe) {
  const char* policy = "idle=2s,intvl=1s,cnt=3,ut=1s";
  auto pair = connect(policy);
  send_bytes(pair.client.get(), 1);
  receive_bytes(pair.server.get(), 1);
  const Clock::time_point last_segment = Clock::now();
  silence(pair.client.get());
  const Detection d =
      predicted(PeerFailure::host_silent, Activity::idle, policy, pair.server.get());
  ASSERT_EQ(d.earliest, Millis(3'000));
  const Observed o = observe_end(pair.server.get(), last_segment);
  expect_within(d, o);
  EXPECT_EQ(o.post_mortem.probes, 1);
}

// A healthy peer answers the probe: a user timeout below idle does not end the
// connection (the kernel needs an unanswered probe first).
TEST_P(DeadPeer, UserTimeoutBelowIdleSparesAHealthyPeer) {
  auto pair = connect("idle=1s,intvl=1s,cnt=3,ut=500ms");
  const Clock::time_point start = Clock::now();
  EXPECT_FALSE(wait_for_end(pair.server.get(), start, Millis(3'500)).has_value());
  EXPECT_GE(read_tcp_state(pair.server.get())->probes.value_or(-1), 0);
}

// Data in flight: keepalive waits, the user timeout ends it 1.5 s after the first
// retransmission, which follows the tail-loss probe by one RTO.
TEST_P(DeadPeer, UserTimeoutEndsUnacknowledgedData) {
  const char* policy = "idle=1s,intvl=1s,cnt=5,ut=1500ms";
  auto pair = connect(policy);
  silence(pair.client.get());
  const Detection d =
      predicted(PeerFailure::host_silent, Activity::sending, policy, pair.server.get());
  const Clock::time_point sent = Clock::now();
  send_bytes(pair.server.get(), 100);
  const Observed o = observe_end(pair.server.get(), sent);
  expect_within(d, o);
  EXPECT_GT(o.post_mortem.retransmits.value_or(0), 0);
  EXPECT_EQ(o.post_mortem.probes, 0);  // keepalive never ran
  EXPECT_EQ(classified(o, true, true), CloseCause::user_timeout);
}

// The peer stopped reading, its window shut, then its host went silent.
TEST_P(DeadPeer, UserTimeoutEndsAShutWindowToASilentPeer) {
  const char* policy = "ut=1500ms";
  auto pair = connect_over_loopback(GetParam(), *parse_policy(policy), ClientWindow::small);
  const Clock::time_point shut = fill_peer_window(pair.server.get(), Millis(10'000));
  silence(pair.client.get());
  const Detection d =
      predicted(PeerFailure::host_silent, Activity::window_closed, policy, pair.server.get());
  const Observed o = observe_end(pair.server.get(), shut);
  expect_within(d, o);
  EXPECT_GT(o.post_mortem.notsent_bytes.value_or(0), 0u);
  EXPECT_EQ(classified(o, false, true), CloseCause::user_timeout);
}

// A hung peer answers every window probe; only the user timeout ends the wait.
TEST_P(DeadPeer, UserTimeoutEndsAShutWindowToAHungPeer) {
  const char* policy = "ut=1500ms";
  auto pair = connect_over_loopback(GetParam(), *parse_policy(policy), ClientWindow::small);
  const Clock::time_point shut = fill_peer_window(pair.server.get(), Millis(10'000));
  const Detection d =
      predicted(PeerFailure::process_hung, Activity::window_closed, policy, pair.server.get());
  const Observed o = observe_end(pair.server.get(), shut);
  expect_within(d, o);
  EXPECT_EQ(classified(o, false, true), CloseCause::user_timeout);
}

// connect() to a host that drops SYNs: with ut=2500ms the kernel gives up at 2.5 s
// instead of after tcp_syn_retries.
TEST_P(DeadPeer, UserTimeoutEndsConnectToASilentHost) {
  const char* policy = "ut=2500ms";
  net::UniqueFd listener = listen_on_loopback(GetParam());
  silence(listener.get());
  const SystemDefaults system = *read_system_defaults();
  const Detection d = predict(PeerFailure::host_silent, Activity::connecting,
                              *resolve(*parse_policy(policy), system), system);
  net::UniqueFd client(::socket(GetParam(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(apply_policy(client.get(), *parse_policy(policy)).ok());
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  const Clock::time_point start = Clock::now();
  const int connected = ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length);
  const int error = errno;
  const auto after = std::chrono::duration_cast<Millis>(Clock::now() - start);
  ASSERT_EQ(connected, -1);
  EXPECT_EQ(errno_name(error), "ETIMEDOUT");
  EXPECT_TRUE(d.admits(after)) << format_seconds(after);
  CloseEvidence evidence;
  evidence.error = error;
  evidence.connecting = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::connect_timeout);
}

INSTANTIATE_TEST_SUITE_P(Loopback, DeadPeer, testing::both_ip_versions(),
                         testing::ip_version_name);

}  // namespace
}  // namespace tcpka
