// The detection model against the running kernel, on loopback and without privileges.
//
// A peer's host "goes silent" when a socket filter that accepts nothing is attached to
// its socket: its kernel then drops every segment of the connection before TCP sees it,
// as if the host had crashed or its cable were cut. The other side's keepalive,
// retransmission and window-probe timers run for real; each test checks the measured
// time against predict()'s interval (the bound, up to bound * 1.125 + RTT + 50 ms:
// DESIGN.md's tolerance), the errno, the probe count the kernel leaves in TCP_INFO, and
// the cause classify_close() reads from it.
#include <gtest/gtest.h>

#include "support/ip_versions.h"
#include "support/scenario_expectations.h"

namespace tcpka {
namespace {

using namespace testing;

class DeadPeer : public ::testing::TestWithParam<int> {
 protected:
  int family() const { return GetParam(); }
};

// The seed's experiment, shortened: probes at 1 s and 2 s, death at 3 s.
TEST_P(DeadPeer, KeepaliveFindsASilentIdlePeer) {
  const ScenarioRun run = silent_idle_peer(family(), "idle=1s,intvl=1s,cnt=2");
  expect_within_prediction(run);
  EXPECT_EQ(run.post_mortem.probes, 2);
  EXPECT_EQ(run.classified, CloseCause::keepalive_timeout);
}

// ut=2500ms overrides cnt=5: the first timer run at or after 2.5 s, at 3 s, ends it.
TEST_P(DeadPeer, UserTimeoutOverridesTheProbeCount) {
  const ScenarioRun run = silent_idle_peer(family(), "idle=1s,intvl=1s,cnt=5,ut=2500ms");
  EXPECT_EQ(run.predicted.probes, 2);
  expect_within_prediction(run);
  EXPECT_EQ(run.post_mortem.probes, 2);
  EXPECT_EQ(run.classified, CloseCause::keepalive_timeout);
}

// ut=1s is shorter than idle: one unanswered probe is all the peer gets.
TEST_P(DeadPeer, UserTimeoutBelowIdleAllowsASingleProbe) {
  const ScenarioRun run = silent_idle_peer(family(), "idle=2s,intvl=1s,cnt=3,ut=1s");
  EXPECT_EQ(run.predicted.earliest, Millis(3'000));
  expect_within_prediction(run);
  EXPECT_EQ(run.post_mortem.probes, 1);
}

// A healthy peer answers the probe: a user timeout below idle does not end the
// connection, because the kernel needs an unanswered probe first.
TEST_P(DeadPeer, UserTimeoutBelowIdleSparesAHealthyPeer) {
  TcpPair pair = connect_over_loopback(family(), *parse_policy("idle=1s,intvl=1s,cnt=3,ut=500ms"));
  EXPECT_FALSE(wait_for_end(pair.server.get(), Clock::now(), Millis(3'500)).has_value());
}

// Data in flight: keepalive waits; the user timeout ends it 1.5 s after the first
// retransmission, which follows the tail-loss probe by one RTO.
TEST_P(DeadPeer, UserTimeoutEndsUnacknowledgedData) {
  const ScenarioRun run = silent_peer_with_unacked_data(family(), "idle=1s,intvl=1s,ut=1500ms");
  expect_within_prediction(run);
  EXPECT_GT(run.post_mortem.retransmits.value_or(0), 0);
  EXPECT_EQ(run.post_mortem.probes, 0);  // keepalive never ran
  EXPECT_EQ(run.classified, CloseCause::user_timeout);
}

// The peer stopped reading, its window shut, then its host went silent.
TEST_P(DeadPeer, UserTimeoutEndsAShutWindowToASilentPeer) {
  const ScenarioRun run = shut_window(family(), "ut=1500ms", /*hung=*/false);
  expect_within_prediction(run);
  EXPECT_GT(run.post_mortem.notsent_bytes.value_or(0), 0u);
  EXPECT_EQ(run.classified, CloseCause::user_timeout);
}

// A hung peer answers every window probe; only the user timeout ends the wait.
TEST_P(DeadPeer, UserTimeoutEndsAShutWindowToAHungPeer) {
  const ScenarioRun run = shut_window(family(), "ut=1500ms", /*hung=*/true);
  expect_within_prediction(run);
  EXPECT_EQ(run.post_mortem.probes, 0);  // every probe was answered
  EXPECT_EQ(run.classified, CloseCause::user_timeout);
}

// connect() to a host that drops SYNs: ut=2500ms gives up at 2.5 s instead of after
// tcp_syn_retries.
TEST_P(DeadPeer, UserTimeoutEndsConnectToASilentHost) {
  const ScenarioRun run = connect_to_silent_host(family(), "ut=2500ms");
  expect_within_prediction(run);
  EXPECT_EQ(run.classified, CloseCause::connect_timeout);
}

INSTANTIATE_TEST_SUITE_P(Loopback, DeadPeer, both_ip_versions(), ip_version_name);

}  // namespace
}  // namespace tcpka
