#include "support/private_netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include "net/unique_fd.h"

namespace tcpka::testing {
namespace {

// The identity of a network namespace: the inode of its nsfs file.
ino_t netns_inode(const char* path) {
  struct stat status {};
  if (::stat(path, &status) != 0) {
    throw std::runtime_error(std::string("stat ") + path + ": " + std::strerror(errno));
  }
  return status.st_ino;
}

// The namespace the process started in, taken before any test thread can leave it.
const ino_t kHostNetns = netns_inode("/proc/self/ns/net");

void bring_loopback_up() {
  net::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (!fd || ::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) {
    throw std::runtime_error(std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno));
  }
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &request) != 0) {
    throw std::runtime_error(std::string("SIOCSIFFLAGS lo: ") + std::strerror(errno));
  }
}

}  // namespace

bool can_create_network_namespaces() {
  bool created = false;
  std::thread probe([&] { created = ::unshare(CLONE_NEWNET) == 0; });
  probe.join();
  return created;
}

void in_private_netns(const std::function<void()>& body) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::unshare(CLONE_NEWNET) != 0) {
        throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
      }
      bring_loopback_up();
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

void write_net_sysctl(std::string_view name, std::string_view value) {
  if (netns_inode("/proc/thread-self/ns/net") == kHostNetns) {
    throw std::logic_error("refusing to write net." + std::string(name) +
                           " in the host's network namespace");
  }
  const std::string path = "/proc/sys/net/" + std::string(name);
  net::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    throw std::runtime_error("write " + path + ": " + std::strerror(errno));
  }
}

}  // namespace tcpka::testing
