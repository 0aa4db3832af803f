#include "option_table_io.h"

#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace tcpka::detail {
namespace {

std::string describe_errno(int error) {
  return std::generic_category().message(error);
}

}  // namespace

Result<void> apply_option_table(int fd, std::span<const OptionDescriptor> table,
                                const Policy& policy) {
  for (const OptionDescriptor& option : table) {
    const std::optional<int> value = requested_value(policy, option);
    if (!value) continue;
    if (::setsockopt(fd, option.level, option.name, &*value, sizeof(*value)) != 0) {
      const int error = errno;
      return errno_error(error, "setsockopt(" + std::string(option.readable) + ", " +
                                    std::to_string(*value) + ") on fd " + std::to_string(fd) +
                                    ": " + describe_errno(error));
    }
  }
  return {};
}

Result<Policy> read_option_table(int fd, std::span<const OptionDescriptor> table) {
  Policy policy;
  for (const OptionDescriptor& option : table) {
    int value = 0;
    socklen_t length = sizeof(value);
    if (::getsockopt(fd, option.level, option.name, &value, &length) != 0) {
      const int error = errno;
      return errno_error(error, "getsockopt(" + std::string(option.readable) + ") on fd " +
                                    std::to_string(fd) + ": " + describe_errno(error));
    }
    store_value(policy, option, value);
  }
  return policy;
}

}  // namespace tcpka::detail
