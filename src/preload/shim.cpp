// libtcpka_preload.so: keepalive and a user timeout for programs that never asked.
//
// The hooks below stand in for socket(), listen(), connect(), accept(), accept4(),
// setsockopt() and close() and then call the real ones (found with dlsym(RTLD_NEXT) when
// the library loads). Inside a hook nothing allocates, errno is what the real call left,
// and every shared datum is either read-only after load or an atomic byte per descriptor,
// so any thread, a signal handler's socket() or a constructor that runs before ours is
// safe. Configuration errors are reported once, at load, and then the shim stands aside:
// it never breaks the program it is in.
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "lib/platform.h"
#include "lib/posix/option_table_io.h"
#include "preload/shim_config.h"
#include "preload/shim_log.h"
#include "preload/socket_marks.h"

namespace tcpka::preload {
namespace {

using SocketFn = int (*)(int, int, int);
using ListenFn = int (*)(int, int);
using ConnectFn = int (*)(int, const sockaddr*, socklen_t);
using AcceptFn = int (*)(int, sockaddr*, socklen_t*);
using Accept4Fn = int (*)(int, sockaddr*, socklen_t*, int);
using SetsockoptFn = int (*)(int, int, int, const void*, socklen_t);
using CloseFn = int (*)(int);

// The next definition of `name` after this library: libc's, or another preload's.
// Resolved at load; a hook that runs before that (from an earlier constructor) resolves
// its own on the spot.
template <class Fn>
Fn next_definition(std::atomic<Fn>& cache, const char* name) {
  Fn fn = cache.load(std::memory_order_acquire);
  if (fn == nullptr) {
    fn = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
    cache.store(fn, std::memory_order_release);
  }
  return fn;
}

std::atomic<SocketFn> real_socket{nullptr};
std::atomic<ListenFn> real_listen{nullptr};
std::atomic<ConnectFn> real_connect{nullptr};
std::atomic<AcceptFn> real_accept{nullptr};
std::atomic<Accept4Fn> real_accept4{nullptr};
std::atomic<SetsockoptFn> real_setsockopt{nullptr};
std::atomic<CloseFn> real_close{nullptr};

// Set once, at load, before `active` turns true; never freed (hooks may run during exit).
const ShimConfig* config = nullptr;
std::atomic<bool> active{false};
SocketMarks marks;
ShimLog log;

bool is_tcp(int domain, int type, int protocol) {
  const int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  return (domain == AF_INET || domain == AF_INET6) && base_type == SOCK_STREAM &&
         (protocol == 0 || protocol == IPPROTO_TCP);
}

// For sockets the shim did not see created (inherited, made before it loaded, dup'ed).
bool is_tcp_socket(int fd) {
  int domain = 0;
  int type = 0;
  int protocol = 0;
  socklen_t length = sizeof(int);
  return ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 &&
         ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 &&
         ::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 &&
         is_tcp(domain, type, protocol);
}

std::uint16_t port_of(const sockaddr* address) {
  if (address == nullptr) return 0;
  if (address->sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  }
  if (address->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  }
  return 0;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return port_of(reinterpret_cast<const sockaddr*>(&address));
}

// Sets the policy on `fd` (once) and says so when asked to. Keeps errno.
void apply(int fd, const char* where) {
  const int saved = errno;
  const detail::OptionFailure failure =
      detail::set_options(fd, detail::platform_option_table(), config->policy);
  marks.set(fd, SocketMarks::applied);
  if (config->debug) {
    if (failure.option == nullptr) {
      log.line("fd ", fd, " ", where, ": policy set");
    } else {
      log.line("fd ", fd, " ", where, ": setting ", failure.option->readable.data(),
               " failed, errno ", failure.error);
    }
  }
  errno = saved;
}

// The safety nets: a TCP socket not yet seen to (listen, connect, accept) gets the policy
// if the scope and ports cover it, unless the program set its own options.
void apply_if_due(int fd, Scope scope, std::uint16_t port, const char* where) {
  const SocketMarks::Mark mark = marks.get(fd);
  if (mark == SocketMarks::applied || mark == SocketMarks::program_owned) return;
  if (config->scope != Scope::every_socket && config->scope != scope) return;
  if (!config->covers_port(port)) return;
  if (mark == SocketMarks::unknown && !is_tcp_socket(fd)) return;
  apply(fd, where);
}

bool is_policy_option(int level, int name) {
  return (level == SOL_SOCKET && name == SO_KEEPALIVE) ||
         (level == IPPROTO_TCP && (name == TCP_KEEPIDLE || name == TCP_KEEPINTVL ||
                                   name == TCP_KEEPCNT || name == TCP_USER_TIMEOUT));
}

__attribute__((constructor)) void load() {
  next_definition(real_socket, "socket");
  next_definition(real_listen, "listen");
  next_definition(real_connect, "connect");
  next_definition(real_accept, "accept");
  next_definition(real_accept4, "accept4");
  next_definition(real_setsockopt, "setsockopt");
  next_definition(real_close, "close");
  auto loaded = load_shim_config([](const char* name) { return ::getenv(name); });
  if (!loaded) {
    ShimLog::warn("tcpka-preload: ", loaded.error().message.c_str(),
                  "; sockets are left as the program makes them");
    return;
  }
  static const ShimConfig kLoaded = std::move(*loaded);
  config = &kLoaded;
  if (config->debug) log.open(config->log_path.empty() ? nullptr : config->log_path.c_str());
  if (!marks.create()) {
    ShimLog::warn("tcpka-preload: cannot map its socket table; sockets are left alone");
    return;
  }
  active.store(true, std::memory_order_release);
}

}  // namespace
}  // namespace tcpka::preload

using namespace tcpka::preload;

extern "C" {

__attribute__((visibility("default"))) int socket(int domain, int type, int protocol) {
  const int fd = next_definition(real_socket, "socket")(domain, type, protocol);
  if (fd < 0 || !active.load(std::memory_order_acquire)) return fd;
  if (!is_tcp(domain, type, protocol)) {
    marks.set(fd, SocketMarks::not_tcp);
  } else if (config->scope == Scope::every_socket && config->every_port) {
    apply(fd, "socket()");
  } else {
    marks.set(fd, SocketMarks::tcp_pending);  // listen() or connect() decides
  }
  return fd;
}

__attribute__((visibility("default"))) int listen(int fd, int backlog) {
  if (active.load(std::memory_order_acquire)) {
    apply_if_due(fd, Scope::listening, local_port(fd), "listen()");
  }
  return next_definition(real_listen, "listen")(fd, backlog);
}

__attribute__((visibility("default"))) int connect(int fd, const sockaddr* address,
                                                   socklen_t length) {
  if (active.load(std::memory_order_acquire)) {
    apply_if_due(fd, Scope::connecting, port_of(address), "connect()");
  }
  return next_definition(real_connect, "connect")(fd, address, length);
}

// An accepted socket inherits its listener's options; one whose listener the shim did
// not cover gets the policy here if the scope and ports say so.
static int after_accept(int listener, int fd) {
  if (fd < 0 || !active.load(std::memory_order_acquire)) return fd;
  if (marks.get(listener) == SocketMarks::applied) {
    marks.set(fd, SocketMarks::applied);
  } else {
    marks.set(fd, SocketMarks::tcp_pending);
    apply_if_due(fd, Scope::listening, local_port(fd), "accept()");
  }
  return fd;
}

__attribute__((visibility("default"))) int accept(int listener, sockaddr* address,
                                                  socklen_t* length) {
  return after_accept(listener, next_definition(real_accept, "accept")(listener, address, length));
}

__attribute__((visibility("default"))) int accept4(int listener, sockaddr* address,
                                                   socklen_t* length, int flags) {
  return after_accept(listener,
                      next_definition(real_accept4, "accept4")(listener, address, length, flags));
}

__attribute__((visibility("default"))) int setsockopt(int fd, int level, int name,
                                                      const void* value, socklen_t length) {
  if (active.load(std::memory_order_acquire) && is_policy_option(level, name)) {
    if (config->override_program && marks.get(fd) == SocketMarks::applied) {
      if (config->debug) log.line("fd ", fd, " setsockopt(): the policy stays (override)");
      return 0;  // the policy wins; the program is told its call worked
    }
    // The program decides for this socket: the safety nets leave it alone from now on.
    if (!config->override_program) marks.set(fd, SocketMarks::program_owned);
  }
  return next_definition(real_setsockopt, "setsockopt")(fd, level, name, value, length);
}

__attribute__((visibility("default"))) int close(int fd) {
  if (active.load(std::memory_order_acquire)) marks.set(fd, SocketMarks::unknown);
  return next_definition(real_close, "close")(fd);
}

}  // extern "C"
