// macOS: the keepalive options as a table, and what counts as a TCP socket.
//
// Untested: no macOS machine builds it (see README's platform table). Checked by eye
// against XNU's bsd/netinet/tcp.h and tcp_ctloutput() in bsd/netinet/tcp_usrreq.c.
//
// What XNU's tcp_ctloutput() does with each option (all take an int):
// - TCP_KEEPALIVE is macOS's name for the idle time: XNU's <netinet/tcp.h> defines no
//   TCP_KEEPIDLE. It and TCP_KEEPINTVL take seconds, are kept as milliseconds in 32 bits,
//   and are refused (EINVAL) below 0 or above UINT32_MAX / TCP_RETRANSHZ (4,294,967 s).
// - TCP_KEEPCNT is refused below 0. For all three, 0 means "the system's default".
// - TCP_RXT_CONNDROPTIME takes seconds (0: off) and is the nearest XNU has to "a bound
//   on unacknowledged data", Linux's TCP_USER_TIMEOUT: each retransmission timeout checks
//   how long ago the first one of the episode fired, and drops the connection
//   (ETIMEDOUT) once that is at least the bound (tcp_timers(), TCPT_REXMT).
//   TCP_CONNECTIONTIMEOUT bounds only connect(). Neither ends an idle connection whose
//   probes go unanswered: keepalive does that by itself. XNU refuses only negative
//   values and multiplies by 1000 in an int, so the bound must stay below 2,147,484 s.
// - getsockopt() of the three keepalive options reads the system's value where the
//   socket has none, so every field reads back.
// - A connection accepted from a listening socket inherits SO_KEEPALIVE, TCP_KEEPINTVL
//   and TCP_KEEPCNT, but not TCP_KEEPALIVE or TCP_RXT_CONNDROPTIME (tcp_input() copies
//   t_keepintvl, t_keepcnt and t_keepinit only).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/tcp_fsm.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "../platform.h"
#include "../posix/option_table_io.h"

namespace tcpka::detail {
namespace {

// SO_KEEPALIVE comes first, unlike on Linux: XNU re-arms the keepalive timer when
// TCP_KEEPALIVE is set, with the socket's idle time only if SO_KEEPALIVE is already on
// (TCP_CONN_KEEPIDLE in tcp_timer.h), and setting SO_KEEPALIVE re-arms nothing. In the
// other order an idle connection would send its first probe after the system's idle
// time (two hours), not the asked one.
constexpr OptionDescriptor kDarwinOptions[] = {
    {PolicyField::keepalive, SOL_SOCKET, SO_KEEPALIVE, "SOL_SOCKET/SO_KEEPALIVE", OptionUnit::flag},
    {PolicyField::idle, IPPROTO_TCP, TCP_KEEPALIVE, "IPPROTO_TCP/TCP_KEEPALIVE",
     OptionUnit::seconds},
    {PolicyField::interval, IPPROTO_TCP, TCP_KEEPINTVL, "IPPROTO_TCP/TCP_KEEPINTVL",
     OptionUnit::seconds},
    {PolicyField::count, IPPROTO_TCP, TCP_KEEPCNT, "IPPROTO_TCP/TCP_KEEPCNT", OptionUnit::count},
    {PolicyField::user_timeout, IPPROTO_TCP, TCP_RXT_CONNDROPTIME,
     "IPPROTO_TCP/TCP_RXT_CONNDROPTIME", OptionUnit::seconds},
};

std::string fd_text(int fd) {
  return "fd " + std::to_string(fd);
}

std::string family_name(int family) {
  switch (family) {
    case AF_UNIX:
      return "a UNIX-domain socket";
    case AF_ROUTE:
      return "a routing socket";
    case AF_SYSTEM:
      return "a kernel control or event socket (AF_SYSTEM)";
    case AF_NDRV:
      return "a network driver socket (AF_NDRV)";
    default:
      return "a socket of address family " + std::to_string(family);
  }
}

std::string kind_name(int type) {
  switch (type) {
    case SOCK_DGRAM:
      return "an IP datagram socket (UDP or ICMP)";
    case SOCK_RAW:
      return "a raw IP socket";
    default:
      return "an IP socket of type " + std::to_string(type);
  }
}

Error socket_error(int fd, int error, const std::string& call) {
  switch (error) {
    case EBADF:
      return errno_error(error, fd_text(fd) + " is not an open file descriptor");
    case ENOTSOCK:
      return errno_error(error, fd_text(fd) + " is not a socket");
    default:
      return errno_error(
          error, call + " on " + fd_text(fd) + ": " + std::generic_category().message(error));
  }
}

Result<int> socket_type(int fd) {
  int type = 0;
  socklen_t length = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0) return type;
  const int error = errno;
  return socket_error(fd, error, "getsockopt(SOL_SOCKET/SO_TYPE)");
}

// macOS has no SO_DOMAIN: getsockname() gives the family instead. XNU's in_getsockaddr()
// (bsd/netinet/in_pcb.c) fills in the family before the address, so a socket not yet
// bound answers too, with a zero address and port; its IPv6 twin does the same.
Result<int> socket_family(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    return address.ss_family;
  }
  const int error = errno;
  return socket_error(fd, error, "getsockname()");
}

// Whether the socket listens, by XNU's own state of it.
Result<bool> is_listening(int fd) {
  tcp_connection_info info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, &info, &length) != 0) {
    const int error = errno;
    return socket_error(fd, error, "getsockopt(IPPROTO_TCP/TCP_CONNECTION_INFO)");
  }
  return info.tcpi_state == TCPS_LISTEN;
}

Error not_tcp(int fd, const std::string& what) {
  return errno_error(EPROTOTYPE, fd_text(fd) + " is " + what +
                                     "; keepalive and TCP_RXT_CONNDROPTIME apply only to TCP");
}

}  // namespace

Result<void> check_tcp_socket(NativeSocket fd) {
  auto type = socket_type(fd);
  if (!type) return type.error();
  auto family = socket_family(fd);
  if (!family) return family.error();
  if (*family != AF_INET && *family != AF_INET6) return not_tcp(fd, family_name(*family));
  if (*type != SOCK_STREAM) return not_tcp(fd, kind_name(*type));
  // Nor SO_PROTOCOL: a protocol answering an IPPROTO_TCP option is TCP. (XNU's only
  // stream protocol of AF_INET and AF_INET6 is TCP; MPTCP sockets are AF_MULTIPATH.)
  int no_delay = 0;
  socklen_t length = sizeof(no_delay);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, &length) != 0) {
    const int error = errno;
    if (error == ENOPROTOOPT) return not_tcp(fd, "a stream socket of a protocol other than TCP");
    return socket_error(fd, error, "getsockopt(IPPROTO_TCP/TCP_NODELAY)");
  }
  return {};
}

Result<Applied> apply_to_socket(NativeSocket fd, const Policy& policy,
                                const ApplyOptions& /*every field is settable here*/) {
  // On a listening socket the idle time and the user timeout would not reach accepted
  // connections, and the idle time would do harm: setting TCP_KEEPALIVE arms the
  // listener's own keepalive timer, whose expiry ends any connection not yet
  // established (TCPT_KEEP in tcp_timers()), the listener included.
  if (policy.idle || policy.user_timeout.mode != UserTimeout::Mode::unset) {
    auto listening = is_listening(fd);
    if (!listening) return listening.error();
    if (*listening) {
      return errno_error(EOPNOTSUPP,
                         fd_text(fd) +
                             " is listening: on macOS accepted sockets do not inherit "
                             "TCP_KEEPALIVE or TCP_RXT_CONNDROPTIME, and TCP_KEEPALIVE would "
                             "close the listening socket after the idle time; apply the "
                             "policy to each accepted socket");
    }
  }
  if (auto applied = apply_option_table(fd, kDarwinOptions, policy); !applied) {
    return applied.error();
  }
  return Applied{};
}

Result<PolicyReading> read_from_socket(NativeSocket fd) {
  return read_option_table(fd, kDarwinOptions);
}

std::span<const OptionDescriptor> platform_option_table() {
  return kDarwinOptions;
}

}  // namespace tcpka::detail
