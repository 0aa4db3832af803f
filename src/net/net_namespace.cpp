#include "net/net_namespace.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tcpka::net {
namespace {

Error system_error(int error, const std::string& what) {
  return errno_error(error, what + ": " + std::generic_category().message(error));
}

Result<UniqueFd> open_own_namespace() {
  UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd) return system_error(errno, "open /proc/thread-self/ns/net");
  return fd;
}

Result<void> write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) return system_error(errno == 0 ? EPERM : errno, "write " + path);
  return {};
}

// The identity of a network namespace: the inode of its nsfs file.
ino_t inode_of(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? status.st_ino : 0;
}

// The namespace the process started in, read before main() can leave it.
const ino_t kStartingNamespace = [] {
  const UniqueFd fd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  return fd ? inode_of(fd.get()) : 0;
}();

}  // namespace

Result<NetNamespace> NetNamespace::current() {
  auto fd = open_own_namespace();
  if (!fd) return fd.error();
  return NetNamespace(std::move(*fd));
}

Result<NetNamespace> NetNamespace::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return system_error(errno, "open " + path);
  struct statfs filesystem {};
  if (::fstatfs(fd.get(), &filesystem) != 0) return system_error(errno, "fstatfs " + path);
  if (filesystem.f_type != NSFS_MAGIC) {
    return errno_error(EINVAL, path + " is not a namespace file (nsfs)");
  }
  return NetNamespace(std::move(fd));
}

std::uint64_t NetNamespace::inode() const {
  return inode_of(fd_.get());
}

Result<NetNamespace> NetNamespace::create() {
  auto home = current();
  if (!home) return home.error();
  if (::unshare(CLONE_NEWNET) != 0) return system_error(errno, "unshare(CLONE_NEWNET)");
  auto created = open_own_namespace();
  // Back home before anything else, whatever happened.
  if (::setns(home->fd(), CLONE_NEWNET) != 0) return system_error(errno, "setns back");
  if (!created) return created.error();
  return NetNamespace(std::move(*created));
}

Result<InNamespace> InNamespace::enter(const NetNamespace& ns) {
  auto home = NetNamespace::current();
  if (!home) return home.error();
  // Already there: setns would ask for CAP_SYS_ADMIN for nothing, and fail without it.
  if (home->inode() == ns.inode()) return InNamespace(NetNamespace(UniqueFd()));
  if (::setns(ns.fd(), CLONE_NEWNET) != 0) return system_error(errno, "setns");
  return InNamespace(std::move(*home));
}

InNamespace::~InNamespace() {
  // Returning to a namespace this thread came from cannot fail for want of rights; if
  // it failed anyway, carrying on would put later sockets in the wrong namespace.
  if (home_.fd() >= 0 && ::setns(home_.fd(), CLONE_NEWNET) != 0) std::abort();
}

Result<void> isolate_process_network() {
  if (::geteuid() != 0) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER) != 0) {
      return system_error(errno,
                          "not root, and the kernel refuses a user namespace "
                          "(kernel.unprivileged_userns_clone or user.max_user_namespaces?)");
    }
    // Root inside, this user outside.
    if (auto w = write_file("/proc/self/setgroups", "deny"); !w) return w;
    if (auto w = write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"); !w) {
      return w;
    }
    if (auto w = write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"); !w) {
      return w;
    }
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    const int error = errno;
    // Say what is missing, not only what failed.
    const char* missing = error == EPERM    ? " (needs CAP_SYS_ADMIN)"
                          : error == ENOSPC ? " (user.max_net_namespaces is used up)"
                                            : "";
    return system_error(error, std::string("cannot create a network namespace") + missing);
  }
  return {};
}

}  // namespace tcpka::net

namespace tcpka::net {

Result<void> write_net_sysctl(const NetNamespace& ns, std::string_view name,
                              std::string_view value) {
  const std::string path = "/proc/sys/net/" + std::string(name);
  if (kStartingNamespace == 0 || inode_of(ns.fd()) == kStartingNamespace) {
    return errno_error(EPERM, "refusing to write " + path + " of the host's network namespace");
  }
  return inside(ns, [&]() -> Result<void> {
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return system_error(errno, "open " + path);
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
      return system_error(errno, "write " + path);
    }
    return {};
  });
}

}  // namespace tcpka::net
