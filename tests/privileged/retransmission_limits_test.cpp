// tcp_retries2 and tcp_syn_retries, lowered in a private network namespace so that the
// kernel gives up in seconds instead of 15 minutes, against the model's prediction.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "support/private_netns.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"
#include "tcpka/errno_name.h"
#include "tcpka/system_defaults.h"
#include "tcpka/tcp_state.h"

namespace tcpka {
namespace {

using namespace testing;

class RetransmissionLimits : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!can_create_network_namespaces()) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN)";
  }

  static Detection predicted(PeerFailure failure, Activity activity, int fd) {
    const SystemDefaults system = *read_system_defaults();
    const auto rto = std::chrono::duration_cast<Millis>(*read_tcp_state(fd)->rto);
    return predict(failure, activity, *resolve(Policy{}, system), system,
                   PathFacts{Millis(1), rto});
  }

  static void expect_within(const Detection& d, const Ending& ending) {
    EXPECT_TRUE(d.admits(ending.after))
        << "measured " << format_seconds(ending.after) << ", predicted "
        << format_seconds(d.earliest) << ".." << format_seconds(d.latest);
    EXPECT_EQ(errno_name(ending.error), errno_name(d.error));
  }
};

// Retries2=3: 3 s counted from the first retransmission. With a 204 ms RTO the third
// retransmission comes 2.856 s after the first, so the kernel waits a fourth (+3.264 s).
TEST_P(RetransmissionLimits, RetriesTwoEndsUnacknowledgedData) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_retries2", "3");
    auto pair = connect_over_loopback(GetParam());
    silence(pair.client.get());
    const Detection d = predicted(PeerFailure::host_silent, Activity::sending, pair.server.get());
    const Clock::time_point sent = Clock::now();
    send_bytes(pair.server.get(), 100);
    auto ending = wait_for_end(pair.server.get(), sent, Millis(30'000));
    ASSERT_TRUE(ending.has_value());
    expect_within(d, *ending);
    CloseEvidence evidence;
    evidence.error = ending->error;
    evidence.last_state = *read_tcp_state(pair.server.get());
    EXPECT_EQ(evidence.last_state->retransmits, d.retransmissions);
    EXPECT_EQ(classify_close(evidence), CloseCause::retransmit_timeout);
  });
}

// The same limit counts unanswered window probes: the fourth timer run ends it.
TEST_P(RetransmissionLimits, RetriesTwoEndsAShutWindowToASilentPeer) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_retries2", "3");
    auto pair = connect_over_loopback(GetParam(), std::nullopt, ClientWindow::small);
    const Clock::time_point shut = fill_peer_window(pair.server.get(), Millis(10'000));
    silence(pair.client.get());
    const Detection d =
        predicted(PeerFailure::host_silent, Activity::window_closed, pair.server.get());
    auto ending = wait_for_end(pair.server.get(), shut, Millis(30'000));
    ASSERT_TRUE(ending.has_value());
    expect_within(d, *ending);
    CloseEvidence evidence;
    evidence.error = ending->error;
    evidence.last_state = *read_tcp_state(pair.server.get());
    EXPECT_EQ(evidence.last_state->probes, d.probes);
    EXPECT_EQ(classify_close(evidence), CloseCause::zero_window_timeout);
  });
}

// tcp_syn_retries=2 plus this kernel's linear rounds: 1, 1, 1, 1, 1, 2 s, then give up.
TEST_P(RetransmissionLimits, SynRetriesEndConnect) {
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_syn_retries", "2");
    net::UniqueFd listener = listen_on_loopback(GetParam());
    silence(listener.get());
    const SystemDefaults system = *read_system_defaults();
    const Detection d = predict(PeerFailure::host_silent, Activity::connecting,
                                *resolve(Policy{}, system), system);
    net::UniqueFd client(::socket(GetParam(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    const Clock::time_point start = Clock::now();
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length), -1);
    const int error = errno;
    const Ending ending{std::chrono::duration_cast<Millis>(Clock::now() - start), error};
    expect_within(d, ending);
  });
}

INSTANTIATE_TEST_SUITE_P(PrivateLoopback, RetransmissionLimits,
                         testing::both_ip_versions(),
                         testing::ip_version_name);

}  // namespace
}  // namespace tcpka
