// Linux: the keepalive options as a table, and what counts as a TCP socket.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "../platform.h"
#include "../posix/option_table_io.h"

namespace tcpka::detail {
namespace {

// The timings come before SO_KEEPALIVE so that the keepalive timer, once armed, already
// runs on the asked idle time. (Linux re-arms it on TCP_KEEPIDLE either way; macOS needs
// the opposite order, see darwin/socket_options.cpp.)
constexpr OptionDescriptor kLinuxOptions[] = {
    {PolicyField::idle, IPPROTO_TCP, TCP_KEEPIDLE, "IPPROTO_TCP/TCP_KEEPIDLE", OptionUnit::seconds},
    {PolicyField::interval, IPPROTO_TCP, TCP_KEEPINTVL, "IPPROTO_TCP/TCP_KEEPINTVL",
     OptionUnit::seconds},
    {PolicyField::count, IPPROTO_TCP, TCP_KEEPCNT, "IPPROTO_TCP/TCP_KEEPCNT", OptionUnit::count},
    {PolicyField::user_timeout, IPPROTO_TCP, TCP_USER_TIMEOUT, "IPPROTO_TCP/TCP_USER_TIMEOUT",
     OptionUnit::milliseconds},
    {PolicyField::keepalive, SOL_SOCKET, SO_KEEPALIVE, "SOL_SOCKET/SO_KEEPALIVE", OptionUnit::flag},
};

std::string fd_text(int fd) {
  return "fd " + std::to_string(fd);
}

std::string family_name(int family) {
  switch (family) {
    case AF_UNIX:
      return "a UNIX-domain socket";
    case AF_NETLINK:
      return "a netlink socket";
    case AF_PACKET:
      return "a packet socket";
    default:
      return "a socket of address family " + std::to_string(family);
  }
}

std::string kind_name(int type, int protocol) {
  if (type == SOCK_DGRAM && protocol == IPPROTO_UDP) return "a UDP socket";
  if (type == SOCK_RAW) return "a raw IP socket";
  if (protocol == IPPROTO_SCTP) return "an SCTP socket";
  if (protocol == IPPROTO_MPTCP) return "an MPTCP socket";
  return "an IP socket of type " + std::to_string(type) + ", protocol " + std::to_string(protocol);
}

Result<int> socket_property(int fd, int name, const char* readable) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0) return value;
  const int error = errno;
  switch (error) {
    case EBADF:
      return errno_error(error, fd_text(fd) + " is not an open file descriptor");
    case ENOTSOCK:
      return errno_error(error, fd_text(fd) + " is not a socket");
    default:
      return errno_error(error, "getsockopt(SOL_SOCKET/" + std::string(readable) + ") on " +
                                    fd_text(fd) + ": " + std::generic_category().message(error));
  }
}

Error not_tcp(int fd, const std::string& what) {
  return errno_error(EPROTOTYPE, fd_text(fd) + " is " + what +
                                     "; keepalive and TCP_USER_TIMEOUT apply only to TCP");
}

}  // namespace

Result<void> check_tcp_socket(NativeSocket fd) {
  auto family = socket_property(fd, SO_DOMAIN, "SO_DOMAIN");
  if (!family) return family.error();
  if (*family != AF_INET && *family != AF_INET6) return not_tcp(fd, family_name(*family));
  auto type = socket_property(fd, SO_TYPE, "SO_TYPE");
  if (!type) return type.error();
  auto protocol = socket_property(fd, SO_PROTOCOL, "SO_PROTOCOL");
  if (!protocol) return protocol.error();
  if (*type != SOCK_STREAM || *protocol != IPPROTO_TCP) {
    return not_tcp(fd, kind_name(*type, *protocol));
  }
  return {};
}

Result<Applied> apply_to_socket(NativeSocket fd, const Policy& policy,
                                const ApplyOptions& /*every field is settable here*/) {
  if (auto applied = apply_option_table(fd, kLinuxOptions, policy); !applied) {
    return applied.error();
  }
  return Applied{};
}

Result<PolicyReading> read_from_socket(NativeSocket fd) {
  return read_option_table(fd, kLinuxOptions);
}

std::span<const OptionDescriptor> platform_option_table() {
  return kLinuxOptions;
}

}  // namespace tcpka::detail
