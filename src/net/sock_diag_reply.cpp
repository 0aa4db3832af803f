#include "net/sock_diag_reply.h"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>

#include "tcpka/linux_tcp_info.h"

namespace tcpka::net {
namespace {

// inet_diag_sockid keeps ports and addresses in network byte order; an IPv4 address sits
// in the first of the four words.
CompactAddress address_of(int family, const __be32 (&words)[4], __be16 port) {
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
  // A dump answers with SOCK_DIAG_BY_FAMILY messages only (libmnl handles the control
  // messages below NLMSG_MIN_TYPE); anything else means the bytes are not a reply to us.
  std::optional<TcpSocketEntry> entry;
  if (header->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
    entry = parse_tcp_diag_message(
        std::span(static_cast<const std::byte*>(mnl_nlmsg_get_payload(header)),
                  mnl_nlmsg_get_payload_len(header)));
  }
  if (!entry) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  static_cast<std::vector<TcpSocketEntry>*>(data)->push_back(*entry);
  return MNL_CB_OK;
}

// A netlink error's code as an errno, when it is one (the kernel's are 1..4095).
int errno_of(int netlink_error) {
  constexpr int kMaxErrno = 4095;
  return netlink_error < 0 && netlink_error >= -kMaxErrno ? -netlink_error : EBADMSG;
}

// NLMSG_ERROR: a failed request (an acknowledgment, error 0, does not answer a dump).
int on_error(const nlmsghdr* header, void* /*data*/) {
  nlmsgerr error{};
  if (mnl_nlmsg_get_payload_len(header) < sizeof(error)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  std::memcpy(&error, mnl_nlmsg_get_payload(header), sizeof(error));
  errno = errno_of(error.error);
  return MNL_CB_ERROR;
}

// NLMSG_DONE ends a dump, and carries the dump's error: a kernel without tcp_diag ends
// at once with -ENOENT, which libmnl's own handler would take for an empty dump.
int on_done(const nlmsghdr* header, void* /*data*/) {
  int status = 0;
  if (mnl_nlmsg_get_payload_len(header) >= sizeof(status)) {
    std::memcpy(&status, mnl_nlmsg_get_payload(header), sizeof(status));
  }
  if (status >= 0) return MNL_CB_STOP;
  errno = errno_of(status);
  return MNL_CB_ERROR;
}

// Whether every message's length stays within the reply. libmnl 1.0.4's mnl_nlmsg_ok
// compares it as an int: a message claiming 2 GiB or more passes, and its walk jumps
// out of the buffer. Anything less than a header at the end is padding to libmnl too.
bool lengths_fit(std::span<const std::byte> reply) {
  std::size_t at = 0;
  while (reply.size() - at >= sizeof(nlmsghdr)) {
    std::uint32_t length = 0;
    std::memcpy(&length, reply.data() + at, sizeof(length));
    if (length < sizeof(nlmsghdr) || length > reply.size() - at) return false;
    at += MNL_ALIGN(length);
    if (at >= reply.size()) break;
  }
  return true;
}

}  // namespace

std::optional<TcpSocketEntry> parse_tcp_diag_message(std::span<const std::byte> payload) {
  // Copied out: the payload's length is the sender's word, and its alignment the buffer's.
  inet_diag_msg message{};
  if (payload.size() < sizeof(message)) return std::nullopt;
  std::memcpy(&message, payload.data(), sizeof(message));
  if (message.idiag_family != AF_INET && message.idiag_family != AF_INET6) return std::nullopt;
  TcpSocketEntry entry;
  entry.local = address_of(message.idiag_family, message.id.idiag_src, message.id.idiag_sport);
  entry.remote = address_of(message.idiag_family, message.id.idiag_dst, message.id.idiag_dport);
  entry.state = static_cast<TcpConnectionState>(message.idiag_state);
  entry.timer = message.idiag_timer <= 4 ? static_cast<TcpSocketEntry::Timer>(message.idiag_timer)
                                         : TcpSocketEntry::Timer::none;
  entry.timer_expires_ms = message.idiag_expires;
  entry.retransmits = message.idiag_retrans;
  entry.inode = message.idiag_inode;
  entry.uid = message.idiag_uid;
  std::uint64_t cookie = 0;
  static_assert(sizeof(cookie) == sizeof(message.id.idiag_cookie));
  std::memcpy(&cookie, message.id.idiag_cookie, sizeof(cookie));
  entry.cookie = cookie;
  // The attributes after the message: only TCP_INFO is read.
  std::size_t at = NLMSG_ALIGN(sizeof(message));
  while (payload.size() >= at + sizeof(nlattr)) {
    nlattr attribute{};
    std::memcpy(&attribute, payload.data() + at, sizeof(attribute));
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > payload.size() - at) break;
    if ((attribute.nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO) {
      entry.tcp = tcp_state_from_linux_tcp_info(
          payload.subspan(at + NLA_HDRLEN, attribute.nla_len - NLA_HDRLEN));
    }
    at += NLA_ALIGN(attribute.nla_len);
  }
  return entry;
}

Result<DumpProgress> read_tcp_diag_reply(std::span<const std::byte> reply, unsigned sequence,
                                         unsigned port, std::vector<TcpSocketEntry>& entries) {
  if (!lengths_fit(reply)) {
    return errno_error(EBADMSG, "sock_diag reply: a message runs past the end of the reply");
  }
  // The control messages: NLMSG_NOOP and NLMSG_OVERRUN need nothing.
  mnl_cb_t control[] = {nullptr, nullptr, on_error, on_done};
  errno = 0;
  const int run = mnl_cb_run2(reply.data(), reply.size(), sequence, port, collect, &entries,
                              control, static_cast<unsigned>(std::size(control)));
  if (run == MNL_CB_STOP) return DumpProgress::done;
  if (run >= MNL_CB_OK) return DumpProgress::more;
  // libmnl leaves the reason in errno: a netlink error's code, EBADMSG, ESRCH, EPROTO...
  const int error = errno == 0 ? EBADMSG : errno;
  return errno_error(error, "sock_diag reply: " + std::generic_category().message(error));
}

}  // namespace tcpka::net
