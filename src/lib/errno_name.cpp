// A table instead of glibc's strerrorname_np(): it is GNU-only, and the names a TCP
// connection can end with are few.
#include "tcpka/errno_name.h"

#include <cerrno>
#include <utility>

#include "platform.h"

namespace tcpka {
namespace {

constexpr std::pair<int, const char*> kNames[] = {
    {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNRESET, "ECONNRESET"},
    {ECONNREFUSED, "ECONNREFUSED"},
    {ECONNABORTED, "ECONNABORTED"},
    {EPIPE, "EPIPE"},
    {EHOSTUNREACH, "EHOSTUNREACH"},
    {ENETUNREACH, "ENETUNREACH"},
    {ENETDOWN, "ENETDOWN"},
    {EINVAL, "EINVAL"},
    {EBADF, "EBADF"},
    {ENOTSOCK, "ENOTSOCK"},
    {EPROTOTYPE, "EPROTOTYPE"},
    {ENOPROTOOPT, "ENOPROTOOPT"},
    {EMFILE, "EMFILE"},
    {ENFILE, "ENFILE"},
    {EAGAIN, "EAGAIN"},
    {EINPROGRESS, "EINPROGRESS"},
    {EADDRINUSE, "EADDRINUSE"},
    {EACCES, "EACCES"},
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {ENOTSUP, "ENOTSUP"},
    {EINTR, "EINTR"},
};

}  // namespace

std::string errno_name(std::error_code error) {
  if (!error) return "EOF";
  if (error == detail::host_down_error()) return "EHOSTDOWN";
  error = detail::portable_error(error);
  const std::error_condition condition = error.default_error_condition();
  if (condition.category() == std::generic_category()) {
    for (const auto& [value, name] : kNames) {
      if (value == condition.value()) return name;
    }
  }
  return "errno " + std::to_string(error.value());
}

}  // namespace tcpka
