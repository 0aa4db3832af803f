// A rebooted peer answers the first segment that reaches it with RST. TCP_REPAIR
// (CAP_NET_ADMIN) lets its socket vanish without a FIN or RST, as a reboot does; each
// test runs in its own private network namespace.
#include <gtest/gtest.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/private_netns.h"
#include "support/privileges.h"
#include "support/scenario_expectations.h"

namespace tcpka {
namespace {

using namespace testing;

class RebootedPeer : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }
};

void expect_reset_within_prediction(const ScenarioRun& run) {
  expect_within_prediction(run);
  EXPECT_EQ(run.measured.error, std::errc::connection_reset);
  EXPECT_EQ(run.classified, CloseCause::peer_reset);
}

TEST_P(RebootedPeer, TheFirstKeepaliveProbeIsAnsweredWithReset) {
  in_private_netns([&] {
    expect_reset_within_prediction(rebooted_idle_peer(GetParam(), "idle=1s,intvl=1s,cnt=3"));
  });
}

TEST_P(RebootedPeer, UnacknowledgedDataMeetsAResetWithinAnRto) {
  in_private_netns(
      [&] { expect_reset_within_prediction(rebooted_peer_with_unacked_data(GetParam(), "on")); });
}

INSTANTIATE_TEST_SUITE_P(PrivateLoopback, RebootedPeer, both_ip_versions(), ip_version_name);

}  // namespace
}  // namespace tcpka
