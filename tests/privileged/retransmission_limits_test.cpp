// tcp_retries2 and tcp_syn_retries, lowered in a private network namespace so that the
// kernel gives up in seconds instead of minutes, against the model's prediction.
#include <gtest/gtest.h>

#include "support/ip_versions.h"
#include "support/private_netns.h"
#include "support/privileges.h"
#include "support/scenario_expectations.h"

namespace tcpka {
namespace {

using namespace testing;

class RetransmissionLimits : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }
};

// tcp_retries2=3: 3 s counted from the first retransmission. With a 204 ms RTO the third
// retransmission comes 2.856 s after the first, so the kernel waits a fourth round.
TEST_P(RetransmissionLimits, RetriesTwoEndsUnacknowledgedData) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_retries2", "3");
    const ScenarioRun run = silent_peer_with_unacked_data(GetParam(), "on");
    expect_within_prediction(run);
    EXPECT_EQ(run.post_mortem.retransmits, run.predicted.retransmissions);
    EXPECT_EQ(run.classified, CloseCause::retransmit_timeout);
  });
}

// The same limit counts unanswered window probes.
TEST_P(RetransmissionLimits, RetriesTwoEndsAShutWindowToASilentPeer) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_retries2", "3");
    const ScenarioRun run = shut_window(GetParam(), "on", /*hung=*/false);
    expect_within_prediction(run);
    EXPECT_EQ(run.post_mortem.probes, run.predicted.probes);
    EXPECT_EQ(run.classified, CloseCause::zero_window_timeout);
  });
}

// tcp_syn_retries=2 plus this kernel's linear rounds: 1, 1, 1, 1, 1, 2 s, then give up.
TEST_P(RetransmissionLimits, SynRetriesEndConnect) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_syn_retries", "2");
    const ScenarioRun run = connect_to_silent_host(GetParam(), "on");
    expect_within_prediction(run);
    EXPECT_EQ(run.classified, CloseCause::connect_timeout);
  });
}

INSTANTIATE_TEST_SUITE_P(PrivateLoopback, RetransmissionLimits, both_ip_versions(),
                         ip_version_name);

}  // namespace
}  // namespace tcpka
