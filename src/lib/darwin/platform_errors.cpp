// macOS: errno is the OS's code, and the system category compares equal to the generic
// one. Untested: no macOS machine builds it (see README's platform table).
#include <cerrno>

#include "../platform.h"

namespace tcpka::detail {

std::error_code host_down_error() {
  return {EHOSTDOWN, std::generic_category()};
}

std::error_code portable_error(std::error_code os_error) {
  return os_error;
}

std::error_code os_error(std::errc condition) {
  return {static_cast<int>(condition), std::system_category()};
}

}  // namespace tcpka::detail
