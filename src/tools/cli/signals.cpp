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
  // pthread_sigmask returns its error; sigaction sets errno.
  if (const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0) {
    return errno_error(error, "pthread_sigmask: " + std::generic_category().message(error));
  }
  if (::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    const int error = errno;
    return errno_error(error, "sigaction(SIGPIPE): " + std::generic_category().message(error));
  }
  net::UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return errno_error(error, "signalfd: " + std::generic_category().message(error));
  }
  return fd;
}

}  // namespace tcpka::tools
