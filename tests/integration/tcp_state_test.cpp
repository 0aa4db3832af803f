#include "tcpka/tcp_state.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "tcpka/system_defaults.h"

namespace tcpka {
namespace {

using namespace testing;

class TcpStateTest : public ::testing::TestWithParam<int> {};

TEST_P(TcpStateTest, AnEstablishedConnection) {
  auto pair = connect_over_loopback(GetParam());
  send_bytes(pair.client.get(), 100);
  receive_bytes(pair.server.get(), 100);
  auto state = read_tcp_state(pair.server.get());
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->state, TcpConnectionState::established);
  ASSERT_TRUE(state->rtt.has_value());
  ASSERT_TRUE(state->rto.has_value());
  EXPECT_GE(*state->rto, read_system_defaults()->rto_min);
  EXPECT_EQ(state->unacked, 0u);
  EXPECT_EQ(state->probes, 0);
  EXPECT_EQ(state->retransmits, 0);
  EXPECT_EQ(state->notsent_bytes, 0u);
  ASSERT_TRUE(state->since_data_received.has_value());
  EXPECT_LT(*state->since_data_received, Millis(10'000));
}

TEST_P(TcpStateTest, AListener) {
  auto listener = listen_on_loopback(GetParam());
  EXPECT_EQ(read_tcp_state(listener.get())->state, TcpConnectionState::listen);
}

TEST_P(TcpStateTest, ThePeerClosing) {
  auto pair = connect_over_loopback(GetParam());
  pair.client.reset();
  ASSERT_TRUE(wait_for_end(pair.server.get(), Clock::now(), Millis(5'000)).has_value());
  EXPECT_EQ(read_tcp_state(pair.server.get())->state, TcpConnectionState::close_wait);
}

TEST_P(TcpStateTest, AShutWindow) {
  auto pair = connect_over_loopback(GetParam(), std::nullopt, ClientWindow::small);
  fill_peer_window(pair.server.get(), Millis(10'000));
  auto state = read_tcp_state(pair.server.get());
  EXPECT_EQ(state->send_window, 0u);
  EXPECT_GT(state->notsent_bytes.value_or(0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Loopback, TcpStateTest, testing::both_ip_versions(),
                         testing::ip_version_name);

TEST(TcpStateErrors, RefusesAUdpSocket) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  auto state = read_tcp_state(fd.get());
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code.value(), EPROTOTYPE);
}

}  // namespace
}  // namespace tcpka
