// Windows: connect with Winsock, the policy applied before connect() as on Linux.
#include "policy/live_socket.h"

#include <winsock2.h>
#include <ws2tcpip.h>

#include "tcpka/socket_options.h"

namespace tcpka::tools {
namespace {

constexpr long kConnectTimeoutSeconds = 5;

// Winsock must be started once per process before any socket call.
bool start_winsock() {
  static const bool started = [] {
    WSADATA data;
    return ::WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  return started;
}

// "host:port" or "[v6]:port".
bool split_endpoint(const std::string& text, std::string& host, std::string& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty();
}

class Socket {
 public:
  explicit Socket(SOCKET socket) : socket_(socket) {}
  ~Socket() {
    if (socket_ != INVALID_SOCKET) ::closesocket(socket_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  SOCKET get() const { return socket_; }

 private:
  SOCKET socket_;
};

// Connects within the timeout; empty on success, else what went wrong.
std::string connect_within(SOCKET socket, const addrinfo& address) {
  u_long non_blocking = 1;
  ::ioctlsocket(socket, FIONBIO, &non_blocking);
  if (::connect(socket, address.ai_addr, static_cast<int>(address.ai_addrlen)) == 0) return "";
  if (::WSAGetLastError() != WSAEWOULDBLOCK) {
    return "connect: error " + std::to_string(::WSAGetLastError());
  }
  fd_set writable;
  fd_set failed;
  FD_ZERO(&writable);
  FD_ZERO(&failed);
  FD_SET(socket, &writable);
  FD_SET(socket, &failed);
  timeval timeout{kConnectTimeoutSeconds, 0};
  const int ready = ::select(0, nullptr, &writable, &failed, &timeout);
  if (ready == 0) return "connect: no answer in " + std::to_string(kConnectTimeoutSeconds) + " s";
  if (ready < 0 || FD_ISSET(socket, &failed)) {
    int error = 0;
    int length = sizeof(error);
    ::getsockopt(socket, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error), &length);
    return "connect: error " + std::to_string(error);
  }
  return "";
}

}  // namespace

std::variant<LiveSocket, LiveProbeFailure> probe_live_socket(const std::string& endpoint_text,
                                                             const Policy& policy,
                                                             const ResolvedPolicy& expected,
                                                             const ApplyOptions& options) {
  if (!start_winsock()) return LiveProbeFailure{"--fd-of: WSAStartup failed", kExitCheckFailed};
  std::string host;
  std::string port;
  if (!split_endpoint(endpoint_text, host, port)) {
    return LiveProbeFailure{"--fd-of: '" + endpoint_text + "' is not HOST:PORT", kExitBadInput};
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* addresses = nullptr;
  if (const int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses); error != 0) {
    return LiveProbeFailure{
        "--fd-of: cannot resolve '" + endpoint_text + "' (error " + std::to_string(error) + ")",
        kExitBadInput};
  }
  std::string last_error = "no address";
  for (const addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    Socket socket(::socket(address->ai_family, SOCK_STREAM, IPPROTO_TCP));
    if (socket.get() == INVALID_SOCKET) continue;
    auto applied = apply_policy(socket.get(), policy, options);
    if (!applied) {
      ::freeaddrinfo(addresses);
      return LiveProbeFailure{applied.error().message, kExitCheckFailed};
    }
    last_error = connect_within(socket.get(), *address);
    if (!last_error.empty()) continue;
    auto reading = read_back(socket.get());
    ::freeaddrinfo(addresses);
    if (!reading) return LiveProbeFailure{reading.error().message, kExitCheckFailed};
    return LiveSocket{endpoint_text, *applied, *reading, reading_matches(*reading, expected)};
  }
  ::freeaddrinfo(addresses);
  return LiveProbeFailure{"--fd-of: " + last_error, kExitBadInput};
}

}  // namespace tcpka::tools
