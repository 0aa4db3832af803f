// A rebooted peer: its host comes back without the connection and answers the next
// segment with RST. TCP_REPAIR (CAP_NET_ADMIN) lets a socket disappear without sending
// anything, as a reboot does; the test runs in a private network namespace.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "support/private_netns.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"
#include "tcpka/system_defaults.h"
#include "tcpka/tcp_state.h"

namespace tcpka {
namespace {

using namespace testing;

// Closes `fd` without FIN or RST: the connection is forgotten, as by a reboot.
void forget_silently(net::UniqueFd& fd) {
  const int on = 1;
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
    throw std::runtime_error("TCP_REPAIR needs CAP_NET_ADMIN");
  }
  fd.reset();
}

class RebootedPeer : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!can_create_network_namespaces()) GTEST_SKIP() << "needs root (CAP_NET_ADMIN)";
  }

  static Detection predicted(Activity activity, const char* policy, int fd) {
    const SystemDefaults system = *read_system_defaults();
    const auto rto = std::chrono::duration_cast<Millis>(*read_tcp_state(fd)->rto);
    return predict(PeerFailure::host_rebooted, activity, *resolve(*parse_policy(policy), system),
                   system, PathFacts{Millis(1), rto});
  }
};

TEST_P(RebootedPeer, TheFirstKeepaliveProbeIsAnsweredWithReset) {
  in_private_netns([&] {
    const char* policy = "idle=1s,intvl=1s,cnt=3";
    auto pair = connect_over_loopback(GetParam(), *parse_policy(policy));
    send_bytes(pair.client.get(), 1);
    receive_bytes(pair.server.get(), 1);
    const Clock::time_point last_segment = Clock::now();
    forget_silently(pair.client);
    const Detection d = predicted(Activity::idle, policy, pair.server.get());
    auto ending = wait_for_end(pair.server.get(), last_segment, Millis(10'000));
    ASSERT_TRUE(ending.has_value());
    EXPECT_EQ(ending->error, ECONNRESET);
    EXPECT_TRUE(d.admits(ending->after)) << format_seconds(ending->after);
    CloseEvidence evidence;
    evidence.error = ending->error;
    EXPECT_EQ(classify_close(evidence), CloseCause::peer_reset);
  });
}

TEST_P(RebootedPeer, UnacknowledgedDataMeetsAResetWithinAnRto) {
  in_private_netns([&] {
    const char* policy = "on";
    auto pair = connect_over_loopback(GetParam(), *parse_policy(policy));
    const Detection d = predicted(Activity::sending, policy, pair.server.get());
    // The data leaves while the peer's host is silent, which then reboots: the first
    // segment to reach it afterwards is the tail-loss probe.
    silence(pair.client.get());
    const Clock::time_point sent = Clock::now();
    send_bytes(pair.server.get(), 100);
    forget_silently(pair.client);
    auto ending = wait_for_end(pair.server.get(), sent, Millis(10'000));
    ASSERT_TRUE(ending.has_value());
    EXPECT_EQ(ending->error, ECONNRESET);
    EXPECT_TRUE(d.admits(ending->after)) << format_seconds(ending->after);
  });
}

INSTANTIATE_TEST_SUITE_P(PrivateLoopback, RebootedPeer, testing::both_ip_versions(),
                         testing::ip_version_name);

}  // namespace
}  // namespace tcpka
