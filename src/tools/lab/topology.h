// One scenario's network: three hosts, each a network namespace of its own, joined by
// veth pairs through a router that forwards between them. No link leads out: nothing
// in here can reach the host's network, nor the host's network it.
//
//   server  eth0 ====== to-server  router  to-client ====== eth0  client
//   198.18.0.2          198.18.0.1         198.19.0.1             198.19.0.2
//   2001:2:0:1::2       2001:2:0:1::1      2001:2:0:2::1          2001:2:0:2::2
//                                          to-client-b ==== eth0  second client (if asked)
//                                          198.19.1.1             198.19.1.2
//                                          2001:2:0:3::1          2001:2:0:3::2
//
// Addresses come from 198.18.0.0/15 and 2001:2::/48, the ranges reserved for
// benchmarking; every scenario has its own namespaces, so they all use the same ones.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "net/endpoint.h"
#include "net/firewall.h"
#include "net/net_namespace.h"

namespace tcpka::tools::lab {

enum class Host { server, client, second_client };

// The router's nftables table; faults are rules in its `fault` chain.
inline constexpr const char* kRouterTable = "inet tcpka_lab";

class Topology {
 public:
  // With `second_client`, a third host on a subnet of its own (a second rack of clients).
  static Result<std::unique_ptr<Topology>> create(bool second_client = false);
  ~Topology();  // waits for a reboot still under way

  const net::NetNamespace& server() const { return server_; }
  const net::NetNamespace& router() const { return router_; }
  const net::NetNamespace& client() const { return client_; }
  const net::NetNamespace& of(Host host) const {
    return host == Host::server ? server_ : host == Host::client ? client_ : *second_client_;
  }
  net::Firewall& firewall() { return *firewall_; }

  // A host's address, AF_INET or AF_INET6, with `port`.
  static net::SocketAddress address(Host host, int family, std::uint16_t port);
  // The router's link towards a host as the topology is made ("to-client"). A reboot
  // links the new host through a new one: link_to() names the link of the moment.
  static std::string router_link(Host host);
  const std::string& link_to(Host host) const { return links_[static_cast<int>(host)]; }

  // The host is replaced by a new one with the same addresses and none of its state: a
  // reboot. Make before break: the new host is made and linked to the router while the
  // old one is still there, then the router moves over to it in two steps (its addresses
  // on the new link, the old link deleted), so that the address never goes without a
  // host. The caller closes the old host's sockets first (without FIN or RST, if the
  // reboot is to be silent): from then on, whichever host a segment reaches has no
  // connection for it and answers with RST, however long the new host takes to make.
  // Returns once the new host has answered at both of its addresses.
  Result<void> reboot(Host host);
  // reboot() on a thread of its own, so that the caller can watch its connection
  // meanwhile: making a host takes milliseconds on an idle machine and seconds on a
  // loaded one, and a caller that waited for it would see the connection end late. Until
  // finish_reboot(), the caller touches nothing of the host's (of(host), link_to(host))
  // nor rebooted_at().
  void start_reboot(Host host);
  // Waits for the reboot start_reboot() began (if any) and returns its result.
  Result<void> finish_reboot();
  // When the last reboot's new host first answered, on the steady clock.
  std::optional<std::chrono::steady_clock::time_point> rebooted_at() const { return rebooted_at_; }

 private:
  Topology(net::NetNamespace server, net::NetNamespace router, net::NetNamespace client)
      : server_(std::move(server)), router_(std::move(router)), client_(std::move(client)) {}

  Result<void> prepare_namespaces();
  Result<void> link_router(Host host);
  // A veth pair from the host in `ns` to the router, named `link` on the router's side,
  // up on both ends, the host's end addressed and routed; the router's end unaddressed.
  Result<void> wire(const net::NetNamespace& ns, Host host, const std::string& link);
  // The router's addresses on the host's subnet, on `link`.
  Result<void> address_router(Host host, const std::string& link);
  // Whether the host answers at its addresses, as a host without listeners does: a
  // connection from the router meets its RST.
  Result<void> answers(Host host);

  net::NetNamespace server_;
  net::NetNamespace router_;
  net::NetNamespace client_;
  std::optional<net::NetNamespace> second_client_;
  std::unique_ptr<net::Firewall> firewall_;
  std::string links_[3] = {router_link(Host::server), router_link(Host::client),
                           router_link(Host::second_client)};
  int reboots_ = 0;
  std::optional<std::chrono::steady_clock::time_point> rebooted_at_;
  std::thread rebooting_;
  Result<void> rebooted_;  // the result of the reboot on rebooting_
};

}  // namespace tcpka::tools::lab
