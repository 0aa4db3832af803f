// One scenario's network: three hosts, each a network namespace of its own, joined by
// veth pairs through a router that forwards between them. No link leads out: nothing
// in here can reach the host's network, nor the host's network it.
//
//   server  eth0 ====== to-server  router  to-client ====== eth0  client
//   198.18.0.2          198.18.0.1         198.19.0.1             198.19.0.2
//   2001:2:0:1::2       2001:2:0:1::1      2001:2:0:2::1          2001:2:0:2::2
//
// Addresses come from 198.18.0.0/15 and 2001:2::/48, the ranges reserved for
// benchmarking; every scenario has its own namespaces, so they all use the same ones.
#pragma once

#include <memory>
#include <string>

#include "net/endpoint.h"
#include "net/firewall.h"
#include "net/net_namespace.h"

namespace tcpka::tools::lab {

enum class Host { server, client };

// The router's nftables table; faults are rules in its `fault` chain.
inline constexpr const char* kRouterTable = "inet tcpka_lab";

class Topology {
 public:
  static Result<std::unique_ptr<Topology>> create();

  const net::NetNamespace& server() const { return server_; }
  const net::NetNamespace& router() const { return router_; }
  const net::NetNamespace& client() const { return client_; }
  const net::NetNamespace& of(Host host) const { return host == Host::server ? server_ : client_; }
  net::Firewall& firewall() { return *firewall_; }

  // A host's address, AF_INET or AF_INET6, with `port`.
  static net::SocketAddress address(Host host, int family, std::uint16_t port);
  // The router's link towards a host ("to-client").
  static std::string router_link(Host host);

  // The host is replaced by a new one with the same addresses and none of its state:
  // a reboot. Sockets still open in the old namespace keep it alive (and unreachable);
  // the caller closes them first, without FIN or RST if the reboot is to be silent.
  Result<void> reboot(Host host);

 private:
  Topology(net::NetNamespace server, net::NetNamespace router, net::NetNamespace client)
      : server_(std::move(server)), router_(std::move(router)), client_(std::move(client)) {}

  Result<void> prepare_namespaces();
  Result<void> link_router(Host host);

  net::NetNamespace server_;
  net::NetNamespace router_;
  net::NetNamespace client_;
  std::unique_ptr<net::Firewall> firewall_;
};

}  // namespace tcpka::tools::lab
