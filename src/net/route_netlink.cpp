#include "net/route_netlink.h"

#include <linux/if.h>  // IFF_UP, IF_OPER_UP (not <net/if.h>: the two clash)
#include <linux/if_addr.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include <chrono>
#include <thread>

namespace tcpka::net {
namespace {

// libnl's objects, freed by their own functions.
template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* object) const { Free(object); }
};
using Link = std::unique_ptr<rtnl_link, Freer<rtnl_link, rtnl_link_put>>;
using Address = std::unique_ptr<rtnl_addr, Freer<rtnl_addr, rtnl_addr_put>>;
using Route = std::unique_ptr<rtnl_route, Freer<rtnl_route, rtnl_route_put>>;
using NlAddress = std::unique_ptr<nl_addr, Freer<nl_addr, nl_addr_put>>;

// libnl's negative NLE_* codes, as the errno a caller can act on.
Error netlink_error(int code, const std::string& what) {
  int error = EIO;
  switch (-code) {
    case NLE_PERM:
    case NLE_NOACCESS:
      error = EPERM;
      break;
    case NLE_EXIST:
      error = EEXIST;
      break;
    case NLE_NODEV:
    case NLE_OBJ_NOTFOUND:
      error = ENODEV;
      break;
    case NLE_INVAL:
      error = EINVAL;
      break;
    case NLE_OPNOTSUPP:
      error = EOPNOTSUPP;
      break;
    default:
      break;
  }
  return errno_error(error, what + ": " + nl_geterror(code));
}

Result<NlAddress> parse_address(const std::string& text) {
  nl_addr* parsed = nullptr;
  if (const int code = nl_addr_parse(text.c_str(), AF_UNSPEC, &parsed); code < 0) {
    return netlink_error(code, "address " + text);
  }
  return NlAddress(parsed);
}

}  // namespace

void RouteNetlink::Closer::operator()(nl_sock* socket) const {
  nl_socket_free(socket);
}

Result<RouteNetlink> RouteNetlink::open_in(const NetNamespace& ns) {
  return inside(ns, []() -> Result<RouteNetlink> {
    std::unique_ptr<nl_sock, Closer> socket(nl_socket_alloc());
    if (!socket) return errno_error(ENOMEM, "nl_socket_alloc");
    if (const int code = nl_connect(socket.get(), NETLINK_ROUTE); code < 0) {
      return netlink_error(code, "rtnetlink");
    }
    return RouteNetlink(std::move(socket));
  });
}

Result<int> RouteNetlink::index_of(const std::string& link) {
  rtnl_link* found = nullptr;
  if (const int code = rtnl_link_get_kernel(socket_.get(), 0, link.c_str(), &found); code < 0) {
    return netlink_error(code, "link " + link);
  }
  const Link owned(found);
  return rtnl_link_get_ifindex(found);
}

Result<void> RouteNetlink::add_veth(const std::string& name, int index,
                                    const std::string& peer_name, const NetNamespace& peer_ns) {
  Link link(rtnl_link_veth_alloc());
  if (!link) return errno_error(ENOMEM, "rtnl_link_veth_alloc");
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());  // owned by `link`
  rtnl_link_set_name(peer, peer_name.c_str());
  rtnl_link_set_ns_fd(peer, peer_ns.fd());
  if (index != 0) rtnl_link_set_ifindex(link.get(), index);
  rtnl_link_put(peer);  // get_peer took a reference
  if (const int code = rtnl_link_add(socket_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
      code < 0) {
    return netlink_error(code, "veth " + name + " <-> " + peer_name);
  }
  return {};
}

Result<void> RouteNetlink::delete_link(const std::string& name) {
  const Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (const int code = rtnl_link_delete(socket_.get(), link.get()); code < 0) {
    return netlink_error(code, "delete " + name);
  }
  return {};
}

Result<void> RouteNetlink::set_up(const std::string& name) {
  rtnl_link* found = nullptr;
  if (const int code = rtnl_link_get_kernel(socket_.get(), 0, name.c_str(), &found); code < 0) {
    return netlink_error(code, "link " + name);
  }
  const Link link(found);
  const Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int code = rtnl_link_change(socket_.get(), link.get(), change.get(), 0); code < 0) {
    return netlink_error(code, "set " + name + " up");
  }
  return {};
}

Result<void> RouteNetlink::wait_until_running(const std::string& name, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    rtnl_link* found = nullptr;
    if (const int code = rtnl_link_get_kernel(socket_.get(), 0, name.c_str(), &found); code < 0) {
      return netlink_error(code, "link " + name);
    }
    const Link link(found);
    if (rtnl_link_get_operstate(found) == IF_OPER_UP) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return errno_error(ETIMEDOUT, "link " + name + " did not come up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<void> RouteNetlink::add_address(const std::string& link, const std::string& cidr) {
  auto index = index_of(link);
  if (!index) return index.error();
  auto local = parse_address(cidr);
  if (!local) return local.error();
  const Address address(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(address.get(), *index);
  rtnl_addr_set_local(address.get(), local->get());
  rtnl_addr_set_flags(address.get(), IFA_F_NODAD);
  if (const int code = rtnl_addr_add(socket_.get(), address.get(), 0); code < 0) {
    return netlink_error(code, "address " + cidr + " on " + link);
  }
  return {};
}

Result<void> RouteNetlink::add_route(const std::string& destination, const std::string& gateway) {
  auto dst = parse_address(destination);
  if (!dst) return dst.error();
  auto via = parse_address(gateway);
  if (!via) return via.error();
  const Route route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), static_cast<std::uint8_t>(nl_addr_get_family(dst->get())));
  if (const int code = rtnl_route_set_dst(route.get(), dst->get()); code < 0) {
    return netlink_error(code, "route to " + destination);
  }
  rtnl_nexthop* hop = rtnl_route_nh_alloc();  // the route owns it once added
  rtnl_route_nh_set_gateway(hop, via->get());
  rtnl_route_add_nexthop(route.get(), hop);
  if (const int code = rtnl_route_add(socket_.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL);
      code < 0) {
    return netlink_error(code, "route to " + destination + " via " + gateway);
  }
  return {};
}

}  // namespace tcpka::net
