#include "cli/signals.h"

#include <sys/signalfd.h>

#include <cerrno>
#include <string>

namespace tcpka::tools {

Result<net::UniqueFd> take_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : signals)
    sigaddset(&set, signal);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0 ||
      ::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    return errno_error(errno, "cannot set up signals");
  }
  net::UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return errno_error(error, "signalfd: " + std::generic_category().message(error));
  }
  return fd;
}

}  // namespace tcpka::tools
