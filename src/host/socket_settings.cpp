#include "host/socket_settings.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "net/unique_fd.h"
#include "tcpka/socket_options.h"

namespace tcpka::host {

std::string_view to_string(SettingsSource source) {
  switch (source) {
    case SettingsSource::bpf_iterator:
      return "bpf";
    case SettingsSource::pidfd_getfd:
      return "pidfd";
    case SettingsSource::none:
      break;
  }
  return "none";
}

namespace {

// Through syscall(): glibc 2.36's <sys/pidfd.h> (Debian 12) declares its wrappers without
// extern "C", so C++ cannot link them.
int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

}  // namespace

Result<SocketSettings> read_settings_through_pidfd(pid_t pid, int fd) {
  const net::UniqueFd process(pidfd_open(pid));
  if (!process) {
    const int error = errno;
    return errno_error(error, "pidfd_open(" + std::to_string(pid) +
                                  "): " + std::generic_category().message(error));
  }
  const net::UniqueFd copy(pidfd_getfd(process.get(), fd));
  if (!copy) {
    const int error = errno;
    return errno_error(error, "pidfd_getfd(pid " + std::to_string(pid) + ", fd " +
                                  std::to_string(fd) +
                                  "): " + std::generic_category().message(error));
  }
  auto policy = read_policy(copy.get());
  if (!policy) return policy.error();
  return SocketSettings{*policy, std::nullopt, std::nullopt, std::nullopt};
}

}  // namespace tcpka::host
