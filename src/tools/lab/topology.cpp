#include "lab/topology.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <cstring>

#include "net/connect.h"
#include "net/route_netlink.h"

namespace tcpka::tools::lab {
namespace {

// Each host's subnet, and the two addresses on it: the router's (.1) and the host's (.2).
struct Subnet {
  const char* v4_prefix;  // "198.18.0."
  const char* v6_prefix;  // "2001:2:0:1::"
};
constexpr Subnet kServerSubnet{"198.18.0.", "2001:2:0:1::"};
constexpr Subnet kClientSubnet{"198.19.0.", "2001:2:0:2::"};
constexpr Subnet kSecondClientSubnet{"198.19.1.", "2001:2:0:3::"};
// The server routes both client subnets through the router, in one prefix each.
constexpr const char* kClientsV4 = "198.19.0.0/16";
constexpr const char* kClientsV6 = "2001:2:0:2::/63";

const Subnet& subnet(Host host) {
  switch (host) {
    case Host::server:
      return kServerSubnet;
    case Host::client:
      return kClientSubnet;
    case Host::second_client:
      return kSecondClientSubnet;
  }
  return kClientSubnet;
}

constexpr const char* kHostLink = "eth0";
// A veth end whose index equals its peer's (both namespaces count from 1) looks to the
// kernel like a link of its own, whose carrier changes it reports up to a second late
// (linkwatch_urgent_event()); IPv6 ignores the link until then. The hosts' ends get an
// index the router's never has.
constexpr int kHostLinkIndex = 100;
constexpr Millis kLinkUpTimeout{2'000};
// A port nothing listens on in a host the lab has just made: a connection to it meets
// the host's RST.
constexpr std::uint16_t kClosedPort = 9;
constexpr Millis kAnswerTimeout{5'000};

// Runs each step in turn until one fails; returns that failure.
template <class... Steps>
Result<void> in_order(Steps&&... steps) {
  Result<void> result;
  static_cast<void>(((result = steps(), result.ok()) && ...));
  return result;
}

// The router forwards; a fault chain, empty until a scenario breaks something, is
// consulted for every forwarded packet.
constexpr const char* kRouterRules = R"(
add table inet tcpka_lab
add chain inet tcpka_lab forward { type filter hook forward priority filter; policy accept; }
add chain inet tcpka_lab fault
add rule inet tcpka_lab forward jump fault
)";

// IPv6 the way a lab wants it: addresses usable at once (no duplicate address
// detection, which holds even link-local ones back for a second) and neighbours found in
// a tenth of a second, not a second, when a link has only just come up; asked for up to
// 30 times, not 3, so that a machine loaded by many topologies at once (an answer that
// took longer than 3 x 100 ms was seen: "No route to host" at connect) still finds them.
// (A namespace other than the first has no neigh/default, so the neighbour settings are
// made per link.)
Result<void> prepare_namespace(const net::NetNamespace& ns) {
  return net::write_net_sysctl(ns, "ipv6/conf/default/accept_dad", "0");
}
Result<void> find_neighbours_fast(const net::NetNamespace& ns, const std::string& link) {
  const std::string neigh = "ipv6/neigh/" + link + "/";
  return in_order([&] { return net::write_net_sysctl(ns, neigh + "retrans_time_ms", "100"); },
                  [&] { return net::write_net_sysctl(ns, neigh + "mcast_solicit", "30"); },
                  [&] { return net::write_net_sysctl(ns, neigh + "ucast_solicit", "30"); });
}

Result<void> bring_up_host(const net::NetNamespace& ns, Host host) {
  auto netlink = net::RouteNetlink::open_in(ns);
  if (!netlink) return netlink.error();
  const Subnet& own = subnet(host);
  // Only the far side's subnets are routed: there is no default route.
  const std::string far_v4 = host == Host::server ? std::string(kClientsV4)
                                                  : fmt::format("{}0/24", kServerSubnet.v4_prefix);
  const std::string far_v6 = host == Host::server ? std::string(kClientsV6)
                                                  : fmt::format("{}/64", kServerSubnet.v6_prefix);
  auto& nl = *netlink;
  return in_order([&] { return find_neighbours_fast(ns, kHostLink); },
                  [&] { return nl.set_up("lo"); },
                  [&] { return nl.add_address(kHostLink, fmt::format("{}2/24", own.v4_prefix)); },
                  [&] { return nl.add_address(kHostLink, fmt::format("{}2/64", own.v6_prefix)); },
                  [&] { return nl.set_up(kHostLink); },
                  // Routes once the link runs: IPv6 has no route to the gateway's subnet before.
                  [&] { return nl.wait_until_running(kHostLink, kLinkUpTimeout); },
                  [&] { return nl.add_route(far_v4, fmt::format("{}1", own.v4_prefix)); },
                  [&] { return nl.add_route(far_v6, fmt::format("{}1", own.v6_prefix)); });
}

}  // namespace

net::SocketAddress Topology::address(Host host, int family, std::uint16_t port) {
  net::SocketAddress address;
  const Subnet& own = subnet(host);
  if (family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, fmt::format("{}2", own.v6_prefix).c_str(), &v6->sin6_addr);
    address.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    ::inet_pton(AF_INET, fmt::format("{}2", own.v4_prefix).c_str(), &v4->sin_addr);
    address.length = sizeof(sockaddr_in);
  }
  return address;
}

std::string Topology::router_link(Host host) {
  return host == Host::server ? "to-server" : host == Host::client ? "to-client" : "to-client-b";
}

Result<std::unique_ptr<Topology>> Topology::create(bool second_client) {
  auto server = net::NetNamespace::create();
  if (!server) return server.error();
  auto router = net::NetNamespace::create();
  if (!router) return router.error();
  auto client = net::NetNamespace::create();
  if (!client) return client.error();
  std::unique_ptr<Topology> topology(
      new Topology(std::move(*server), std::move(*router), std::move(*client)));

  if (second_client) {
    auto made = net::NetNamespace::create();
    if (!made) return made.error();
    if (auto set = prepare_namespace(*made); !set) return set.error();
    topology->second_client_.emplace(std::move(*made));
  }
  if (auto set = topology->prepare_namespaces(); !set) return set.error();
  for (Host host : {Host::server, Host::client, Host::second_client}) {
    if (host == Host::second_client && !second_client) continue;
    if (auto linked = topology->link_router(host); !linked) return linked.error();
  }
  auto firewall = net::Firewall::open_in(topology->router_);
  if (!firewall) return firewall.error();
  topology->firewall_ = std::make_unique<net::Firewall>(std::move(*firewall));
  if (auto ruled = topology->firewall_->run(kRouterRules); !ruled) return ruled.error();
  return topology;
}

// Settings for the links still to come (`default` applies to new links).
Result<void> Topology::prepare_namespaces() {
  for (const net::NetNamespace* ns : {&server_, &router_, &client_}) {
    if (auto set = prepare_namespace(*ns); !set) return set;
  }
  for (const auto& [name, value] :
       {std::pair{"ipv4/ip_forward", "1"}, std::pair{"ipv6/conf/all/forwarding", "1"}}) {
    if (auto set = net::write_net_sysctl(router_, name, value); !set) return set;
  }
  return {};
}

// A veth pair from `host` to the router, addressed and routed on both ends.
Result<void> Topology::link_router(Host host) {
  const std::string link = router_link(host);
  return in_order([&] { return wire(of(host), host, link); },
                  [&] { return address_router(host, link); });
}

Result<void> Topology::wire(const net::NetNamespace& ns, Host host, const std::string& link) {
  auto host_netlink = net::RouteNetlink::open_in(ns);
  if (!host_netlink) return host_netlink.error();
  if (auto added = host_netlink->add_veth(kHostLink, kHostLinkIndex, link, router_); !added) {
    return added;
  }
  auto netlink = net::RouteNetlink::open_in(router_);
  if (!netlink) return netlink.error();
  auto& nl = *netlink;
  return in_order([&] { return find_neighbours_fast(router_, link); },
                  [&] { return nl.set_up(link); }, [&] { return bring_up_host(ns, host); },
                  [&] { return nl.wait_until_running(link, kLinkUpTimeout); });
}

Result<void> Topology::address_router(Host host, const std::string& link) {
  auto netlink = net::RouteNetlink::open_in(router_);
  if (!netlink) return netlink.error();
  const Subnet& own = subnet(host);
  auto& nl = *netlink;
  return in_order([&] { return nl.add_address(link, fmt::format("{}1/24", own.v4_prefix)); },
                  [&] { return nl.add_address(link, fmt::format("{}1/64", own.v6_prefix)); });
}

Result<void> Topology::answers(Host host) {
  for (const int family : {AF_INET, AF_INET6}) {
    const net::SocketAddress to = address(host, family, kClosedPort);
    auto connected = net::inside(router_, [&] { return net::connect_tcp(to, kAnswerTimeout); });
    if (connected) {
      return errno_error(EADDRINUSE, "the new host listens on " + net::to_string(to));
    }
    if (connected.error().code != std::errc::connection_refused) {
      return Error{connected.error().code,
                   "the rebooted host does not answer: " + connected.error().message};
    }
  }
  return {};
}

Topology::~Topology() {
  if (rebooting_.joinable()) rebooting_.join();
}

void Topology::start_reboot(Host host) {
  static_cast<void>(finish_reboot());
  rebooting_ = std::thread([this, host] { rebooted_ = reboot(host); });
}

Result<void> Topology::finish_reboot() {
  if (rebooting_.joinable()) rebooting_.join();
  return rebooted_;
}

// Sockets still open in the old host keep its namespace alive until the caller closes
// them; it no longer has a link by then.
Result<void> Topology::reboot(Host host) {
  const std::string old_link = link_to(host);
  const std::string new_link = fmt::format("{}-{}", router_link(host), ++reboots_);
  auto fresh = net::NetNamespace::create();
  if (!fresh) return fresh.error();
  if (auto set = prepare_namespace(*fresh); !set) return set;
  if (auto wired = wire(*fresh, host, new_link); !wired) return wired;
  // The switch: the router's addresses on the new link too (for a moment it has a route
  // to the host's subnet through each link: either host answers the same), then the old
  // link deleted, which leaves the new one.
  if (auto addressed = address_router(host, new_link); !addressed) return addressed;
  auto netlink = net::RouteNetlink::open_in(router_);
  if (!netlink) return netlink.error();
  if (auto deleted = netlink->delete_link(old_link); !deleted) return deleted;
  (host == Host::server ? server_ : client_) = std::move(*fresh);
  links_[static_cast<int>(host)] = new_link;
  if (auto answered = answers(host); !answered) return answered;
  rebooted_at_ = std::chrono::steady_clock::now();
  return {};
}

}  // namespace tcpka::tools::lab
