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

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Every allocation the process makes, counted: the shim's hooks must make none.
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* __libc_calloc(std::size_t count, std::size_t size);
static std::size_t allocations = 0;
extern "C" void* malloc(std::size_t size) {
  ++allocations;
  return __libc_malloc(size);
}
extern "C" void* calloc(std::size_t count, std::size_t size) {
  ++allocations;
  return __libc_calloc(count, size);
}

namespace {

// A socket made before main(), by a constructor, as some libraries do (when asked: the
// other modes count their sockets).
int constructor_socket = -1;
__attribute__((constructor)) void make_socket_early() {
  if (std::getenv("SOCKET_PROBE_EARLY") != nullptr) {
    constructor_socket = socket(AF_INET, SOCK_STREAM, 0);
  }
}

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
  } else if (std::strcmp(mode, "constructor") == 0) {
    report("constructor", constructor_socket);
  } else if (std::strcmp(mode, "errno") == 0) {
    // The hooks leave errno as the real call set it.
    errno = 0;
    const int bad = socket(AF_INET, SOCK_STREAM, 12345);
    std::printf("bad protocol: %d %s\n", bad, std::strerror(errno));
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in nowhere{};
    nowhere.sin_family = AF_INET;
    nowhere.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    nowhere.sin_port = htons(1);  // nothing listens on port 1 here
    const int connected = connect(fd, reinterpret_cast<sockaddr*>(&nowhere), sizeof(nowhere));
    std::printf("refused: %d %s\n", connected, std::strerror(errno));
  } else if (std::strcmp(mode, "allocations") == 0) {
    const int warm = socket(AF_INET, SOCK_STREAM, 0);  // lazy binding resolved here
    close(warm);
    const std::size_t before = allocations;
    for (int i = 0; i < 100; ++i) {
      const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int on = 1;
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
      listen(fd, 1);
      close(fd);
    }
    const std::size_t during = allocations - before;
    std::printf("allocations during 100 sockets: %zu\n", during);
  } else if (std::strcmp(mode, "plain") == 0) {
    report("exec'd child", socket(AF_INET, SOCK_STREAM, 0));
  } else {
    std::fprintf(stderr, "socket_probe: unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
