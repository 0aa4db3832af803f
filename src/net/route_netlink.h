// Links, addresses and routes of one network namespace, over rtnetlink (libnl-route-3),
// as `ip link`, `ip addr` and `ip route` would set them, without running `ip`.
#pragma once

#include <memory>
#include <string>

#include "net/net_namespace.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

struct nl_sock;

namespace tcpka::net {

class RouteNetlink {
 public:
  // A netlink socket bound to `ns` for good (sockets keep the namespace they were
  // opened in).
  static Result<RouteNetlink> open_in(const NetNamespace& ns);

  // A veth pair: `name` here with interface index `index` (0: the kernel picks), and
  // `peer_name` moved into `peer_ns`.
  Result<void> add_veth(const std::string& name, int index, const std::string& peer_name,
                        const NetNamespace& peer_ns);
  // Deleting one end of a veth pair deletes both, at once (a namespace's links die
  // only later, when the kernel gets round to dismantling it).
  Result<void> delete_link(const std::string& link);
  Result<void> set_up(const std::string& link);
  // Waits until `link` is operationally up. Until the kernel has processed a new veth's
  // carrier (asynchronously, in its link-watch work), the link drops what is sent on it.
  Result<void> wait_until_running(const std::string& link, Millis timeout);
  // "198.18.0.1/24" or "2001:2:0:1::1/64"; IPv6 addresses skip duplicate address
  // detection, so that they work at once.
  Result<void> add_address(const std::string& link, const std::string& cidr);
  // A route to `destination` ("198.19.0.0/24") through `gateway`.
  Result<void> add_route(const std::string& destination, const std::string& gateway);

 private:
  struct Closer {
    void operator()(nl_sock* socket) const;
  };
  explicit RouteNetlink(std::unique_ptr<nl_sock, Closer> socket) : socket_(std::move(socket)) {}
  Result<int> index_of(const std::string& link);

  std::unique_ptr<nl_sock, Closer> socket_;
};

}  // namespace tcpka::net
