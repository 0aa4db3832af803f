// Peers that end the connection themselves: what the application sees, and what
// classify_close() makes of the evidence the kernel leaves, on real loopback sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"
#include "tcpka/tcp_state.h"

namespace tcpka {
namespace {

using namespace testing;

class PeerEnd : public ::testing::TestWithParam<int> {
 protected:
  int family() const { return GetParam(); }
};

// The evidence an application has after `ending`: the error and TCP_INFO left behind.
CloseEvidence evidence_of(const Ending& ending, int fd) {
  CloseEvidence evidence;
  evidence.end_of_file = !ending.error;
  evidence.error = ending.error;
  evidence.last_state = *read_tcp_state(fd);
  return evidence;
}

TEST_P(PeerEnd, AnExitedProcessIsAnEndOfFileAtOnce) {
  auto pair = connect_over_loopback(family());
  const Detection predicted =
      predict(PeerFailure::process_exit, Activity::idle, ResolvedPolicy{}, SystemDefaults{});
  const Clock::time_point start = Clock::now();
  pair.client.reset();  // what the kernel does for a process that exits
  auto ending = wait_for_end(pair.server.get(), start, Millis(5'000));
  ASSERT_TRUE(ending.has_value());
  EXPECT_FALSE(ending->error);
  EXPECT_TRUE(predicted.admits(ending->after)) << format_seconds(ending->after);
  EXPECT_EQ(classify_close(evidence_of(*ending, pair.server.get())), CloseCause::peer_closed);
}

TEST_P(PeerEnd, AResetIsEconnreset) {
  auto pair = connect_over_loopback(family());
  const linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(pair.client.get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof(abort_on_close)),
            0);
  pair.client.reset();
  auto ending = wait_for_end(pair.server.get(), Clock::now(), Millis(5'000));
  ASSERT_TRUE(ending.has_value());
  EXPECT_EQ(ending->error, std::errc::connection_reset);
  EXPECT_EQ(classify_close(evidence_of(*ending, pair.server.get())), CloseCause::peer_reset);
}

TEST_P(PeerEnd, NothingListeningIsARefusal) {
  // A bound socket that does not listen holds its port, so no parallel test can take it,
  // and answers SYNs with RST.
  net::UniqueFd bound(::socket(family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  const net::SocketAddress address = loopback_address(family(), 0);
  ASSERT_EQ(::bind(bound.get(), address.get(), address.length), 0);
  const net::SocketAddress target = loopback_address(family(), local_port(bound.get()));
  net::UniqueFd client(::socket(family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int connected = ::connect(client.get(), target.get(), target.length);
  const int error = errno;
  ASSERT_EQ(connected, -1);
  EXPECT_EQ(error, ECONNREFUSED);
  CloseEvidence evidence;
  evidence.error = std::error_code(error, std::generic_category());
  evidence.connecting = true;
  evidence.last_state = *read_tcp_state(client.get());
  EXPECT_EQ(classify_close(evidence), CloseCause::connect_refused);
}

INSTANTIATE_TEST_SUITE_P(Loopback, PeerEnd, both_ip_versions(), ip_version_name);

}  // namespace
}  // namespace tcpka
