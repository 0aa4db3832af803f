#include "support/privileges.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace tcpka::testing {

std::optional<std::string> network_namespaces_unavailable() {
  // On a thread of its own: the namespace it makes dies with it.
  int error = 0;
  std::thread probe([&] { error = ::unshare(CLONE_NEWNET) == 0 ? 0 : errno; });
  probe.join();
  if (error == 0) return std::nullopt;
  return std::string("cannot create a network namespace (needs CAP_SYS_ADMIN): ") +
         std::strerror(error);
}

bool may_skip_for_privileges() {
  return ::geteuid() != 0;
}

}  // namespace tcpka::testing
