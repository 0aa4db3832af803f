// apply_policy and read_back on real Winsock sockets: under Wine (CI) and on Windows.
#include <gtest/gtest.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include <utility>

#include "tcpka/socket_options.h"
#include "wine.h"

namespace tcpka {
namespace {

class Winsock : public ::testing::Environment {
 public:
  void SetUp() override {
    WSADATA data;
    ASSERT_EQ(::WSAStartup(MAKEWORD(2, 2), &data), 0);
  }
  void TearDown() override { ::WSACleanup(); }
};
const auto* const kWinsock = ::testing::AddGlobalTestEnvironment(new Winsock);

class OwnedSocket {
 public:
  explicit OwnedSocket(SOCKET socket = INVALID_SOCKET) : socket_(socket) {}
  ~OwnedSocket() {
    if (socket_ != INVALID_SOCKET) ::closesocket(socket_);
  }
  OwnedSocket(OwnedSocket&& other) noexcept : socket_(other.socket_) {
    other.socket_ = INVALID_SOCKET;
  }
  OwnedSocket& operator=(OwnedSocket&& other) noexcept {
    std::swap(socket_, other.socket_);
    return *this;
  }
  OwnedSocket(const OwnedSocket&) = delete;
  OwnedSocket& operator=(const OwnedSocket&) = delete;
  SOCKET get() const { return socket_; }

 private:
  SOCKET socket_;
};

// A connected pair on loopback, made with blocking calls (loopback answers at once).
struct Connection {
  OwnedSocket listener, client, server;
};

Connection connect_on_loopback() {
  Connection c;
  c.listener = OwnedSocket(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(c.listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::listen(c.listener.get(), 1), 0);
  int length = sizeof(address);
  EXPECT_EQ(::getsockname(c.listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  c.client = OwnedSocket(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  EXPECT_EQ(::connect(c.client.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  c.server = OwnedSocket(::accept(c.listener.get(), nullptr, nullptr));
  EXPECT_NE(c.server.get(), INVALID_SOCKET);
  return c;
}

Policy parsed(const char* text) {
  auto policy = parse_policy(text);
  EXPECT_TRUE(policy.ok()) << text;
  return *policy;
}

// Wine implements SIO_KEEPALIVE_VALS and refuses TCP_KEEPIDLE/KEEPINTVL/KEEPCNT and
// TCP_MAXRT; Windows 10 1709 and later has them all.
KeepaliveMechanism expected_mechanism() {
  return testing::running_under_wine() ? KeepaliveMechanism::keepalive_vals
                                       : KeepaliveMechanism::socket_options;
}

TEST(WindowsSocketOptions, AppliesAPolicyAndReadsBackWhatItCan) {
  const Connection c = connect_on_loopback();
  auto applied = apply_policy(c.client.get(), parsed("idle=7s,intvl=2s,cnt=10"));
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->mechanism, expected_mechanism());
  EXPECT_FALSE(applied->fixed_count) << "cnt=10 is what the system fixes: nothing differs";

  auto reading = read_back(c.client.get());
  ASSERT_TRUE(reading.ok()) << reading.error().message;
  EXPECT_EQ(reading->keepalive, true);
  if (applied->mechanism == KeepaliveMechanism::socket_options) {
    EXPECT_TRUE(reading->complete()) << reading->unreadable;
    EXPECT_EQ(reading->idle, Millis(7'000));
    EXPECT_EQ(reading->interval, Millis(2'000));
    EXPECT_EQ(reading->count, 10);
  } else {
    // Nothing guessed: the fields SIO_KEEPALIVE_VALS set are reported unreadable.
    EXPECT_FALSE(reading->idle);
    EXPECT_FALSE(reading->interval);
    EXPECT_FALSE(reading->count);
    EXPECT_NE(reading->unreadable.find("SIO_KEEPALIVE_VALS cannot be read back"), std::string::npos)
        << reading->unreadable;
    auto strict = read_policy(c.client.get());
    ASSERT_FALSE(strict.ok());
    EXPECT_NE(strict.error().message.find("cannot read every field back"), std::string::npos);
  }
}

TEST(WindowsSocketOptions, TheFallbackReportsTheSystemsFixedCount) {
  if (expected_mechanism() != KeepaliveMechanism::keepalive_vals) {
    GTEST_SKIP() << "this Windows sets TCP_KEEPCNT itself: no fallback to observe";
  }
  const Connection c = connect_on_loopback();
  auto applied = apply_policy(c.client.get(), parsed("idle=2s,intvl=1s,cnt=3"));
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->fixed_count, 10);
  EXPECT_FALSE(applied->adapted_interval) << "keep_interval is the default";
}

TEST(WindowsSocketOptions, KeepTotalScalesTheIntervalToTheFixedCount) {
  if (expected_mechanism() != KeepaliveMechanism::keepalive_vals) {
    GTEST_SKIP() << "this Windows sets TCP_KEEPCNT itself: no fallback to observe";
  }
  const Connection c = connect_on_loopback();
  // idle 2 s + 3 * 1 s = 5 s asked: with 10 probes, the interval becomes 300 ms.
  auto applied = apply_policy(c.client.get(), parsed("idle=2s,intvl=1s,cnt=3"),
                              ApplyOptions{FixedCount::keep_total});
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->fixed_count, 10);
  EXPECT_EQ(applied->adapted_interval, Millis(300));
}

TEST(WindowsSocketOptions, TheUserTimeoutIsTcpMaxRt) {
  const Connection c = connect_on_loopback();
  auto applied = apply_policy(c.client.get(), parsed("ut=30s"));
  if (testing::running_under_wine()) {
    ASSERT_FALSE(applied.ok());
    EXPECT_NE(applied.error().message.find("TCP_MAXRT"), std::string::npos)
        << applied.error().message;
    auto reading = read_back(c.client.get());
    ASSERT_TRUE(reading.ok()) << reading.error().message;
    EXPECT_FALSE(reading->user_timeout);
    EXPECT_NE(reading->unreadable.find("TCP_MAXRT is refused"), std::string::npos)
        << reading->unreadable;
    return;
  }
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(read_back(c.client.get())->user_timeout, Millis(30'000));
}

TEST(WindowsSocketOptions, OffTurnsKeepaliveOff) {
  const Connection c = connect_on_loopback();
  ASSERT_TRUE(apply_policy(c.client.get(), parsed("on")).ok());
  EXPECT_EQ(read_back(c.client.get())->keepalive, true);
  ASSERT_TRUE(apply_policy(c.client.get(), parsed("off")).ok());
  EXPECT_EQ(read_back(c.client.get())->keepalive, false);
}

TEST(WindowsSocketOptions, AppliesToAnIpv6SocketBeforeItConnects) {
  OwnedSocket socket(::socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
  ASSERT_TRUE(apply_policy(socket.get(), parsed("on")).ok());
  EXPECT_EQ(read_back(socket.get())->keepalive, true);
}

TEST(WindowsSocketOptions, RefusesWhatIsNotATcpSocket) {
  OwnedSocket udp(::socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
  auto applied = apply_policy(udp.get(), parsed("on"));
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message.find("is a UDP socket"), std::string::npos)
      << applied.error().message;

  auto not_a_socket = read_back(NativeSocket{12345});
  ASSERT_FALSE(not_a_socket.ok());
  EXPECT_NE(not_a_socket.error().message.find("socket 12345"), std::string::npos)
      << not_a_socket.error().message;
}

TEST(WindowsSocketOptions, ValidatesAgainstWindowsLimits) {
  const Connection c = connect_on_loopback();
  Policy too_many;
  too_many.count = 256;
  auto applied = apply_policy(c.client.get(), too_many);
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message.find("TCP_KEEPCNT accepts 1..255"), std::string::npos)
      << applied.error().message;
}

}  // namespace
}  // namespace tcpka
