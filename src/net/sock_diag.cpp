#include "net/sock_diag.h"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <span>
#include <vector>

#include "net/sock_diag_reply.h"

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

// One dump request for one address family.
Result<void> dump(mnl_socket* socket, std::uint8_t family, const TcpDumpOptions& options,
                  std::vector<TcpSocketEntry>& entries) {
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
  if (options.tcp_info) request->idiag_ext |= 1U << (INET_DIAG_INFO - 1);
  if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0) {
    return failure("sock_diag request");
  }
  const unsigned port = mnl_socket_get_portid(socket);
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (n < 0) return failure("sock_diag reply");
    auto read =
        read_tcp_diag_reply(std::as_bytes(std::span(buffer.data(), static_cast<std::size_t>(n))),
                            sequence, port, entries);
    if (!read) return read.error();
    if (*read == DumpProgress::done) return {};
  }
}

}  // namespace

Result<std::vector<TcpSocketEntry>> list_tcp_sockets(const NetNamespace& ns,
                                                     const TcpDumpOptions& options) {
  // The netlink socket belongs to the namespace it is opened in.
  return inside(ns, [&options]() -> Result<std::vector<TcpSocketEntry>> {
    MnlSocket socket(mnl_socket_open(NETLINK_SOCK_DIAG));
    if (!socket) return failure("netlink sock_diag");
    if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return failure("bind netlink");
    std::vector<TcpSocketEntry> entries;
    for (const std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
      if (auto dumped = dump(socket.get(), family, options, entries); !dumped) {
        return dumped.error();
      }
    }
    return entries;
  });
}

}  // namespace tcpka::net
