// apply_policy and read_policy on real sockets over loopback, IPv4 and IPv6.
#include "tcpka/socket_options.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "support/ip_versions.h"
#include "support/loopback.h"
#include "support/printers.h"
#include "tcpka/system_defaults.h"

namespace tcpka {
namespace {

using testing::connect_over_loopback;

Policy parsed(const char* text) {
  return *parse_policy(text);
}

// What read_policy gives for a new socket with `asked` applied on this host.
ResolvedPolicy expected_in_force(const char* asked) {
  return *resolve(parsed(asked), *read_system_defaults());
}

class SocketOptions : public ::testing::TestWithParam<int> {
 protected:
  int family() const { return GetParam(); }
};

TEST_P(SocketOptions, AppliedPolicyReadsBackOnAConnectedSocket) {
  for (const char* text : {"idle=10s,intvl=5s,cnt=5,ut=auto", "idle=1s,intvl=1s,cnt=1,ut=1500ms",
                           "idle=32767s,intvl=32767s,cnt=127", "off,ut=30s"}) {
    auto pair = connect_over_loopback(family());
    ASSERT_TRUE(apply_policy(pair.client.get(), parsed(text)).ok()) << text;
    auto in_force = read_policy(pair.client.get());
    ASSERT_TRUE(in_force.ok());
    EXPECT_EQ(*in_force, expected_in_force(text)) << text;
  }
}

TEST_P(SocketOptions, AFreshSocketHasTheSystemsDefaultsAndNoKeepalive) {
  auto pair = connect_over_loopback(family());
  EXPECT_EQ(*read_policy(pair.client.get()), expected_in_force("off"));
}

TEST_P(SocketOptions, AutomaticUserTimeoutUsesTheTimingsTheSocketWillHave) {
  auto pair = connect_over_loopback(family());
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("idle=20s,intvl=4s,cnt=3")).ok());
  // Only cnt changes now: ut=auto pairs it with the idle and interval already set.
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("cnt=5,ut=auto")).ok());
  EXPECT_EQ(read_policy(pair.client.get())->user_timeout, Millis(40'000));
}

TEST_P(SocketOptions, EmptyFieldsKeepTheSocketsValues) {
  auto pair = connect_over_loopback(family());
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("idle=20s,intvl=4s,cnt=3,ut=9s")).ok());
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("intvl=7s")).ok());
  EXPECT_EQ(*read_policy(pair.client.get()),
            (ResolvedPolicy{true, Millis(20'000), Millis(7'000), 3, Millis(9'000)}));
}

TEST_P(SocketOptions, AUserTimeoutAloneLeavesKeepaliveAlone) {
  auto pair = connect_over_loopback(family());
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("ut=30s")).ok());
  EXPECT_FALSE(read_policy(pair.client.get())->keepalive);
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("on")).ok());
  ASSERT_TRUE(apply_policy(pair.client.get(), parsed("ut=10s")).ok());
  EXPECT_TRUE(read_policy(pair.client.get())->keepalive);
  EXPECT_EQ(read_policy(pair.client.get())->user_timeout, Millis(10'000));
}

TEST_P(SocketOptions, AcceptedSocketsInheritTheListenersPolicy) {
  const char* text = "idle=10s,intvl=5s,cnt=5,ut=auto";
  auto pair = connect_over_loopback(family(), parsed(text));
  EXPECT_EQ(*read_policy(pair.listener.get()), expected_in_force(text));
  EXPECT_EQ(*read_policy(pair.server.get()), expected_in_force(text));
  // The connecting side did not ask for anything.
  EXPECT_FALSE(read_policy(pair.client.get())->keepalive);
}

TEST_P(SocketOptions, AppliesBeforeConnecting) {
  net::UniqueFd fd(::socket(family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(apply_policy(fd.get(), parsed("10:5:5,ut=auto")).ok());
  EXPECT_EQ(*read_policy(fd.get()), expected_in_force("10:5:5,ut=auto"));
}

TEST_P(SocketOptions, AnInvalidPolicyLeavesTheSocketAlone) {
  auto pair = connect_over_loopback(family());
  Policy bad = parsed("10:5:5");
  bad.count = 500;  // not through the parser, which would refuse it
  auto applied = apply_policy(pair.client.get(), bad);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().message, "cnt=500 is out of range: TCP_KEEPCNT accepts 1..127");
  EXPECT_EQ(*read_policy(pair.client.get()), expected_in_force("off"));
}

INSTANTIATE_TEST_SUITE_P(Loopback, SocketOptions, testing::both_ip_versions(),
                         testing::ip_version_name);

// --- what is not a TCP socket ---------------------------------------------------------

void expect_refused(int fd, int error, const std::string& message) {
  auto applied = apply_policy(fd, parsed("10:5:5"));
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code.value(), error);
  EXPECT_EQ(applied.error().message, message);
  auto read = read_policy(fd);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message, message);
}

TEST(NotTcp, UdpSocketsAreRefused) {
  for (int family : {AF_INET, AF_INET6}) {
    net::UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    expect_refused(fd.get(), EPROTOTYPE,
                   "fd " + std::to_string(fd.get()) +
                       " is a UDP socket; keepalive and TCP_USER_TIMEOUT apply only to TCP");
  }
}

TEST(NotTcp, UnixSocketsAreRefused) {
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    net::UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    expect_refused(
        fd.get(), EPROTOTYPE,
        "fd " + std::to_string(fd.get()) +
            " is a UNIX-domain socket; keepalive and TCP_USER_TIMEOUT apply only to TCP");
  }
}

TEST(NotTcp, ClosedDescriptorsAreRefused) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::close(fd);
  expect_refused(fd, EBADF, "fd " + std::to_string(fd) + " is not an open file descriptor");
}

TEST(NotTcp, OtherFilesAreRefused) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  net::UniqueFd read_end(fds[0]);
  net::UniqueFd write_end(fds[1]);
  expect_refused(read_end.get(), ENOTSOCK, "fd " + std::to_string(fds[0]) + " is not a socket");
}

}  // namespace
}  // namespace tcpka
