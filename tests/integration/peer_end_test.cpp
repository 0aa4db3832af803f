// Peers that end the connection themselves: what the application sees and how tcpka
// classifies it, on real loopback sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"

namespace tcpka {
namespace {

using namespace testing;

class PeerEnd : public ::testing::TestWithParam<int> {};

const Detection kProcessExit =
    predict(PeerFailure::process_exit, Activity::idle, ResolvedPolicy{}, SystemDefaults{});

TEST_P(PeerEnd, AnExitedProcessIsAnEndOfFileAtOnce) {
  auto pair = connect_over_loopback(GetParam());
  const Clock::time_point start = Clock::now();
  pair.client.reset();  // what the kernel does for a process that exits
  auto ending = wait_for_end(pair.server.get(), start, Millis(5'000));
  ASSERT_TRUE(ending.has_value());
  EXPECT_EQ(ending->error, 0);
  EXPECT_TRUE(kProcessExit.admits(ending->after));
  CloseEvidence evidence;
  evidence.end_of_file = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::peer_closed);
}

TEST_P(PeerEnd, AResetIsEconnreset) {
  auto pair = connect_over_loopback(GetParam());
  const linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(pair.client.get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof(abort_on_close)),
            0);
  const Clock::time_point start = Clock::now();
  pair.client.reset();
  auto ending = wait_for_end(pair.server.get(), start, Millis(5'000));
  ASSERT_TRUE(ending.has_value());
  EXPECT_EQ(ending->error, ECONNRESET);
  CloseEvidence evidence;
  evidence.error = ending->error;
  EXPECT_EQ(classify_close(evidence), CloseCause::peer_reset);
}

TEST_P(PeerEnd, NothingListeningIsARefusal) {
  int port = 0;
  {
    net::UniqueFd listener = listen_on_loopback(GetParam());
    port = local_port(listener.get());
  }
  net::UniqueFd client(::socket(GetParam(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage address{};
  socklen_t length = 0;
  if (GetParam() == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in);
  }
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  CloseEvidence evidence;
  evidence.error = ECONNREFUSED;
  evidence.connecting = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::connect_refused);
}

INSTANTIATE_TEST_SUITE_P(Loopback, PeerEnd, testing::both_ip_versions(), testing::ip_version_name);

}  // namespace
}  // namespace tcpka
