// close_logger: a TCP echo server built on an installed libtcpka, as a program outside
// tcpka uses it. Each accepted connection gets a keepalive policy, read back from the
// kernel; each close is logged with its cause (libtcpka's classify_close) and how long
// the connection lived.
//
//   close_logger [POLICY [PORT [CLOSES]]]
//     POLICY  a tcpka policy (default idle=10s,intvl=5s,cnt=3,ut=auto)
//     PORT    the port on 127.0.0.1 (default 0: any free one; the first line says which)
//     CLOSES  exit after this many closes (default 0: never)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcpka/tcpka.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd;
  std::string peer;
  Clock::time_point accepted;
  tcpka::CloseEvidence evidence;
};

int usage(const std::string& why) {
  std::fprintf(stderr, "close_logger: %s (usage: close_logger [POLICY [PORT [CLOSES]]])\n",
               why.c_str());
  return 2;
}

bool parse_number(std::string_view text, unsigned long& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

std::string address_of(const sockaddr_in& address) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(address.sin_port));
}

std::string describe(const tcpka::PolicyReading& reading) {
  if (!reading.complete()) return "unreadable: " + reading.unreadable;
  return std::string(*reading.keepalive ? "keepalive on" : "keepalive off") + ", idle " +
         tcpka::format_duration(*reading.idle) + ", intvl " +
         tcpka::format_duration(*reading.interval) + ", cnt " + std::to_string(*reading.count) +
         ", user timeout " + tcpka::format_duration(*reading.user_timeout);
}

// Applies the policy and says what the kernel holds; a socket that refuses is closed.
bool prepare(Connection& c, const tcpka::Policy& policy) {
  if (auto applied = tcpka::apply_policy(c.fd, policy); !applied) {
    std::printf("refused %s: %s\n", c.peer.c_str(), applied.error().message.c_str());
    return false;
  }
  const auto reading = tcpka::read_back(c.fd);
  std::printf("accepted %s: %s\n", c.peer.c_str(),
              reading ? describe(*reading).c_str() : reading.error().message.c_str());
  // What classify_close weighs: which of the kernel's timers were armed on this socket.
  c.evidence.keepalive_armed = reading && reading->keepalive.value_or(false);
  c.evidence.user_timeout_armed =
      reading && reading->user_timeout.value_or(tcpka::Millis(0)) > tcpka::Millis(0);
  return true;
}

// Sends all of it: the socket blocks, so a peer that stops reading holds this simple
// server until the user timeout ends the connection (ETIMEDOUT, classified as such).
bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return false;
    data += sent;
    size -= static_cast<size_t>(sent);
  }
  return true;
}

// Echoes what is there; false once the connection is over, with the evidence filled in.
bool serve(Connection& c) {
  char buffer[4096];
  const ssize_t got = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (got > 0 && send_all(c.fd, buffer, static_cast<size_t>(got))) return true;
  c.evidence.end_of_file = got == 0;
  if (got != 0) c.evidence.error = tcpka::errno_code(errno);
  if (const auto state = tcpka::read_tcp_state(c.fd)) c.evidence.last_state = *state;
  return false;
}

void log_close(const Connection& c) {
  const auto lived = std::chrono::duration_cast<tcpka::Millis>(Clock::now() - c.accepted);
  const std::string why = c.evidence.error ? tcpka::errno_name(c.evidence.error) : "EOF";
  std::printf("closed %s after %s: %s (%s)\n", c.peer.c_str(), tcpka::format_seconds(lived).c_str(),
              std::string(tcpka::to_string(tcpka::classify_close(c.evidence))).c_str(),
              why.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.size() > 3) return usage("too many arguments");
  const auto policy =
      tcpka::parse_policy(args.size() > 0 ? args[0] : "idle=10s,intvl=5s,cnt=3,ut=auto");
  if (!policy) return usage(policy.error().message);
  unsigned long port = 0;
  unsigned long closes_left = 0;
  if (args.size() > 1 && (!parse_number(args[1], port) || port > 65535)) {
    return usage("'" + tcpka::printable(args[1]) + "' is not a port");
  }
  if (args.size() > 2 && !parse_number(args[2], closes_left)) {
    return usage("'" + tcpka::printable(args[2]) + "' is not a number of closes");
  }
  const bool forever = closes_left == 0;

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  if (listener < 0 || ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, SOMAXCONN) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::fprintf(stderr, "close_logger: cannot listen on 127.0.0.1:%lu: %s\n", port,
                 tcpka::errno_name(tcpka::errno_code(errno)).c_str());
    return 3;
  }
  std::printf("listening on %s with %s\n", address_of(address).c_str(),
              tcpka::to_string(*policy).c_str());
  std::fflush(stdout);

  std::vector<Connection> connections;
  while (forever || closes_left > 0) {
    std::vector<pollfd> watched{{listener, POLLIN, 0}};
    for (const Connection& c : connections)
      watched.push_back({c.fd, POLLIN, 0});
    if (::poll(watched.data(), watched.size(), -1) < 0 && errno != EINTR) {
      std::fprintf(stderr, "close_logger: poll: %s\n",
                   tcpka::errno_name(tcpka::errno_code(errno)).c_str());
      return 3;
    }
    // Connections first: the indices of `watched` past 0 are those of `connections`.
    for (size_t i = connections.size(); i-- > 0;) {
      if (watched[i + 1].revents == 0 || serve(connections[i])) continue;
      log_close(connections[i]);
      ::close(connections[i].fd);
      connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
      if (!forever) --closes_left;
    }
    if ((watched[0].revents & POLLIN) != 0) {
      sockaddr_in peer{};
      socklen_t peer_length = sizeof peer;
      const int fd =
          ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_CLOEXEC);
      if (fd < 0) {
        // The peer gave up before accept (ECONNABORTED) or a signal came: try again. Out
        // of descriptors or memory: poll would report the listener ready at once, forever.
        if (errno == ECONNABORTED || errno == EINTR || errno == EAGAIN) continue;
        std::fprintf(stderr, "close_logger: accept: %s\n",
                     tcpka::errno_name(tcpka::errno_code(errno)).c_str());
        return 3;
      }
      Connection c{fd, address_of(peer), Clock::now(), {}};
      if (prepare(c, *policy)) {
        connections.push_back(std::move(c));
      } else {
        ::close(fd);
      }
    }
    std::fflush(stdout);
  }
  ::close(listener);
  return 0;
}
