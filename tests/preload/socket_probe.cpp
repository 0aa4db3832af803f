// A program that never asks for keepalive, run under `tcpka exec` by the tests: it makes
// sockets the ways programs do and prints what each ended up with, one line per socket:
//   <what> keepalive=<0|1> idle=<s> intvl=<s> cnt=<n> ut=<ms>
// Plain POSIX and nothing else, like the programs the shim is for.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

int option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  getsockopt(fd, level, name, &value, &length);
  return value;
}

void report(const char* what, int fd) {
  std::printf("%s keepalive=%d idle=%d intvl=%d cnt=%d ut=%d\n", what,
              option(fd, SOL_SOCKET, SO_KEEPALIVE), option(fd, IPPROTO_TCP, TCP_KEEPIDLE),
              option(fd, IPPROTO_TCP, TCP_KEEPINTVL), option(fd, IPPROTO_TCP, TCP_KEEPCNT),
              option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
  std::fflush(stdout);
}

// A listener on the loopback of `family`, a client connected to it, and the accepted end.
void connection(int family, int flags) {
  const int listener = socket(family, SOCK_STREAM | flags, 0);
  sockaddr_storage address{};
  socklen_t length = 0;
  if (family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(sockaddr_in);
  }
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 4) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("listener");
    std::exit(1);
  }
  const int client = socket(family, SOCK_STREAM, 0);
  if (connect(client, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  report("listener", listener);
  report("client", client);
  report("accepted", accepted);
  close(accepted);
  close(client);
  close(listener);
}

void* thread_socket(void*) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  report("thread", fd);
  close(fd);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "connection";
  if (std::strcmp(mode, "connection") == 0) {
    connection(AF_INET, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else if (std::strcmp(mode, "ipv6") == 0) {
    connection(AF_INET6, 0);
  } else if (std::strcmp(mode, "threads") == 0) {
    pthread_t threads[8];
    for (pthread_t& thread : threads)
      pthread_create(&thread, nullptr, thread_socket, nullptr);
    for (pthread_t& thread : threads)
      pthread_join(thread, nullptr);
  } else if (std::strcmp(mode, "own-keepalive-off") == 0) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int off = 0;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof(off));
    report("own", fd);
  } else if (std::strcmp(mode, "udp") == 0) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    std::printf("udp keepalive=%d\n", option(fd, SOL_SOCKET, SO_KEEPALIVE));
  } else if (std::strcmp(mode, "fork-exec") == 0) {
    const pid_t child = fork();
    if (child == 0) {
      execl(argv[0], argv[0], "plain", static_cast<char*>(nullptr));
      _exit(127);
    }
    waitpid(child, nullptr, 0);
  } else if (std::strcmp(mode, "plain") == 0) {
    report("exec'd child", socket(AF_INET, SOCK_STREAM, 0));
  } else {
    std::fprintf(stderr, "socket_probe: unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
