// The lab's network on the real kernel: three namespaces, veth pairs, a forwarding
// router with nftables, packet capture, and a host that reboots.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "lab/topology.h"
#include "net/connect.h"
#include "net/listener.h"
#include "net/packet_capture.h"
#include "support/ip_versions.h"
#include "support/private_netns.h"
#include "support/privileges.h"

namespace tcpka::tools::lab {
namespace {

using namespace std::chrono_literals;
constexpr std::uint16_t kPort = 7001;

Result<net::UniqueFd> listen_in(const net::NetNamespace& ns, int family) {
  return net::inside(ns, [&] {
    return net::listen_tcp(Topology::address(Host::server, family, kPort), net::ListenOptions{});
  });
}

Result<net::UniqueFd> connect_from(const net::NetNamespace& ns, int family,
                                   std::chrono::milliseconds timeout = 10s) {
  return net::inside(ns, [&] {
    return net::connect_tcp(Topology::address(Host::server, family, kPort), timeout);
  });
}

// Accepts one connection, waiting up to 10 s for it.
net::UniqueFd accept_one(int listener) {
  pollfd ready{listener, POLLIN, 0};
  if (::poll(&ready, 1, 10'000) != 1) return {};
  return net::UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// The names of the links this process's own namespace has.
std::vector<std::string> host_links() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net"))
    names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class LabTopology : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }

  // A topology with a connection from the client host to the server host.
  void connect_through() {
    auto created = Topology::create();
    ASSERT_TRUE(created.ok()) << created.error().message;
    topology = std::move(*created);
    auto listening = listen_in(topology->server(), GetParam());
    ASSERT_TRUE(listening.ok()) << listening.error().message;
    listener = std::move(*listening);
    auto connected = connect_from(topology->client(), GetParam());
    ASSERT_TRUE(connected.ok()) << connected.error().message;
    client = std::move(*connected);
    server = accept_one(listener.get());
    ASSERT_TRUE(server);
  }

  std::unique_ptr<Topology> topology;
  net::UniqueFd listener;
  net::UniqueFd client;
  net::UniqueFd server;
};

TEST_P(LabTopology, TheHostsReachEachOtherThroughTheRouterAndNothingElse) {
  const auto links_before = host_links();
  ASSERT_NO_FATAL_FAILURE(connect_through());
  ASSERT_EQ(::send(client.get(), "x", 1, MSG_NOSIGNAL), 1);
  char byte = 0;
  ASSERT_EQ(::recv(server.get(), &byte, 1, 0), 1);
  EXPECT_EQ(byte, 'x');
  EXPECT_EQ(host_links(), links_before) << "the lab made links outside its namespaces";
  topology.reset();
  client.reset();
  server.reset();
  listener.reset();
  EXPECT_EQ(host_links(), links_before);
}

TEST_P(LabTopology, TheRoutersFaultChainCutsAHostOff) {
  ASSERT_NO_FATAL_FAILURE(connect_through());
  ASSERT_TRUE(
      topology->firewall().run("add rule inet tcpka_lab fault iifname \"to-client\" drop\n").ok());
  auto refused = connect_from(topology->client(), GetParam(), 300ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, std::errc::timed_out) << refused.error().message;
  ASSERT_TRUE(topology->firewall().run("flush chain inet tcpka_lab fault\n").ok());
  auto healed = connect_from(topology->client(), GetParam());
  EXPECT_TRUE(healed.ok()) << healed.error().message;
}

TEST_P(LabTopology, TheServersLinkIsCapturedLikeTcpdump) {
  auto created = Topology::create();
  ASSERT_TRUE(created.ok()) << created.error().message;
  topology = std::move(*created);
  // Capturing from before the handshake.
  auto capture = net::PacketCapture::open(topology->server(), "eth0");
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  auto listening = listen_in(topology->server(), GetParam());
  ASSERT_TRUE(listening.ok()) << listening.error().message;
  auto connected = connect_from(topology->client(), GetParam());
  ASSERT_TRUE(connected.ok()) << connected.error().message;
  std::vector<net::CapturedPacket> packets;
  for (int i = 0; i < 20 && packets.size() < 3; ++i) {
    pollfd ready{capture->fd(), POLLIN, 0};
    ::poll(&ready, 1, 100);
    capture->take(packets);
  }
  ASSERT_GE(packets.size(), 3u);
  EXPECT_EQ(packets[0].flags, net::kSyn);
  EXPECT_EQ(net::to_string(packets[0].destination),
            net::to_string(Topology::address(Host::server, GetParam(), kPort)));
  EXPECT_EQ(packets[1].flags, net::kSyn | net::kAck);
  EXPECT_EQ(packets[2].flags, net::kAck);
  EXPECT_EQ(packets[1].ack, packets[0].seq + 1);
}

TEST_P(LabTopology, ARebootedHostAnswersOldConnectionsWithReset) {
  ASSERT_NO_FATAL_FAILURE(connect_through());
  // The client's socket vanishes without a FIN (TCP_REPAIR), as with a power cut.
  const int on = 1;
  ASSERT_EQ(::setsockopt(client.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)), 0);
  client.reset();
  ASSERT_TRUE(topology->reboot(Host::client).ok());
  // The new host knows nothing of the connection: it answers the server's data with RST.
  ASSERT_EQ(::send(server.get(), "x", 1, MSG_NOSIGNAL), 1);
  pollfd ready{server.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&ready, 1, 3'000), 1) << "no answer from the rebooted host";
  char byte = 0;
  EXPECT_EQ(::recv(server.get(), &byte, 1, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  auto again = connect_from(topology->client(), GetParam());
  EXPECT_TRUE(again.ok()) << "the rebooted host has its address back: " << again.error().message;
}

INSTANTIATE_TEST_SUITE_P(, LabTopology, ::testing::Values(AF_INET, AF_INET6),
                         testing::ip_version_name);

}  // namespace
}  // namespace tcpka::tools::lab
