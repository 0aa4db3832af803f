// Connections that die at a steady rate, for bench/watch_deaths.sh: RATE loopback
// connections a second for SECONDS seconds, each connected, accepted and ended at once,
// two deaths each for tcpka watch. Paced per millisecond, so the rate holds within each
// second. How they end:
//   reset  the client aborts (SO_LINGER 0): its end is `local`, the server's `peer_reset`;
//          no TIME_WAIT piles up. The sock_diag destroy groups cannot name the client's
//          end: the abort (tcp_disconnect) clears its addresses before the socket is freed.
//   fin    the server closes, the client reads the end and closes: `local` and
//          `peer_closed`; the server's end waits in TIME_WAIT, so give the namespace a
//          wide ip_local_port_range (the script does).
//
//   death_storm reset|fin RATE SECONDS    prints "port P connections N seconds S" when done
//
// Run it in a network namespace of its own (the script does): it uses 127.0.0.1 only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int listen_on_loopback(sockaddr_in& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) die("bind");
  if (::listen(fd, 4096) != 0) die("listen");
  socklen_t size = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) die("getsockname");
  return fd;
}

void one_death(int listener, const sockaddr_in& address, bool reset) {
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0) die("socket");
  if (::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    die("connect");
  }
  const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (server < 0) die("accept");
  if (reset) {
    const linger abort{1, 0};
    ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    ::close(client);  // RST: the client's end dies now, the server's as the RST arrives
    ::close(server);
    return;
  }
  ::close(server);  // FIN
  char byte = 0;
  if (::recv(client, &byte, 1, 0) != 0) die("recv: the server's FIN");
  ::close(client);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[1]) != "reset" && std::string(argv[1]) != "fin")) {
    std::fprintf(stderr, "usage: death_storm reset|fin RATE SECONDS\n");
    return 2;
  }
  const bool reset = std::string(argv[1]) == "reset";
  const long rate = std::strtol(argv[2], nullptr, 10);
  const long seconds = std::strtol(argv[3], nullptr, 10);
  if (rate <= 0 || seconds <= 0) {
    std::fprintf(stderr, "death_storm: RATE and SECONDS must be above 0\n");
    return 2;
  }
  sockaddr_in address{};
  const int listener = listen_on_loopback(address);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const long total = rate * seconds;
  long made = 0;
  for (long millisecond = 0; millisecond < seconds * 1000; ++millisecond) {
    // The connections due by the end of this millisecond.
    const long due = total * (millisecond + 1) / (seconds * 1000);
    for (; made < due; ++made)
      one_death(listener, address, reset);
    std::this_thread::sleep_until(start + std::chrono::milliseconds(millisecond + 1));
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("port %d connections %ld seconds %.3f\n", ntohs(address.sin_port), made, took);
  return 0;
}
