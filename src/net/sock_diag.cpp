#include "net/sock_diag.h"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

namespace tcpka::net {
namespace {

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};
using MnlSocket = std::unique_ptr<mnl_socket, SocketCloser>;

Error failure(const std::string& what) {
  const int error = errno;
  return errno_error(error, what + ": " + std::generic_category().message(error));
}

// inet_diag_sockid keeps ports and addresses in network byte order; an IPv4 address sits
// in the first of the four words.
CompactAddress address_of(int family, const __be32* words, __be16 port) {
  CompactAddress address;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(words);
  if (family == AF_INET) {
    address.ip[10] = 0xff;
    address.ip[11] = 0xff;
    std::copy_n(bytes, 4, address.ip.begin() + 12);
  } else {
    std::copy_n(bytes, 16, address.ip.begin());
  }
  address.port = ntohs(port);
  return address;
}

int collect(const nlmsghdr* header, void* data) {
  auto& entries = *static_cast<std::vector<TcpSocketEntry>*>(data);
  const auto* message = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(header));
  TcpSocketEntry entry;
  entry.local = address_of(message->idiag_family, message->id.idiag_src, message->id.idiag_sport);
  entry.remote = address_of(message->idiag_family, message->id.idiag_dst, message->id.idiag_dport);
  entry.state = static_cast<TcpConnectionState>(message->idiag_state);
  entry.timer = message->idiag_timer <= 4 ? static_cast<TcpSocketEntry::Timer>(message->idiag_timer)
                                          : TcpSocketEntry::Timer::none;
  entry.timer_expires_ms = message->idiag_expires;
  entry.retransmits = message->idiag_retrans;
  entry.inode = message->idiag_inode;
  entries.push_back(entry);
  return MNL_CB_OK;
}

// One dump request for one address family.
Result<void> dump(mnl_socket* socket, std::uint8_t family, std::vector<TcpSocketEntry>& entries) {
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
  header->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  const unsigned sequence = 1;
  header->nlmsg_seq = sequence;
  auto* request =
      static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(header, sizeof(inet_diag_req_v2)));
  request->sdiag_family = family;
  request->sdiag_protocol = IPPROTO_TCP;
  request->idiag_states = ~0U;  // every state
  if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0) {
    return failure("sock_diag request");
  }
  const unsigned port = mnl_socket_get_portid(socket);
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (n < 0) return failure("sock_diag reply");
    const int run =
        mnl_cb_run(buffer.data(), static_cast<std::size_t>(n), sequence, port, collect, &entries);
    if (run == MNL_CB_STOP) return {};
    if (run < 0) return failure("sock_diag reply");
  }
}

}  // namespace

Result<std::vector<TcpSocketEntry>> list_tcp_sockets(const NetNamespace& ns) {
  // The netlink socket belongs to the namespace it is opened in.
  return inside(ns, []() -> Result<std::vector<TcpSocketEntry>> {
    MnlSocket socket(mnl_socket_open(NETLINK_SOCK_DIAG));
    if (!socket) return failure("netlink sock_diag");
    if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return failure("bind netlink");
    std::vector<TcpSocketEntry> entries;
    for (const std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
      if (auto dumped = dump(socket.get(), family, entries); !dumped) return dumped.error();
    }
    return entries;
  });
}

}  // namespace tcpka::net
