#include "option_table_io.h"

#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace tcpka::detail {

OptionFailure set_options(int fd, std::span<const OptionDescriptor> table,
                          const Policy& policy) noexcept {
  const int saved_errno = errno;
  OptionFailure failure;
  for (const OptionDescriptor& option : table) {
    const std::optional<int> value = requested_value(policy, option);
    if (!value) continue;
    if (::setsockopt(fd, option.level, option.name, &*value, sizeof(*value)) != 0) {
      failure = {&option, *value, errno};
      break;
    }
  }
  errno = saved_errno;
  return failure;
}

Result<void> apply_option_table(int fd, std::span<const OptionDescriptor> table,
                                const Policy& policy) {
  const OptionFailure failure = set_options(fd, table, policy);
  if (failure.option == nullptr) return {};
  return errno_error(failure.error, "setsockopt(" + std::string(failure.option->readable) + ", " +
                                        std::to_string(failure.value) + ") on fd " +
                                        std::to_string(fd) + ": " +
                                        std::generic_category().message(failure.error));
}

Result<PolicyReading> read_option_table(int fd, std::span<const OptionDescriptor> table) {
  PolicyReading settings;
  for (const OptionDescriptor& option : table) {
    int value = 0;
    socklen_t length = sizeof(value);
    if (::getsockopt(fd, option.level, option.name, &value, &length) != 0) {
      const int error = errno;
      return errno_error(error, "getsockopt(" + std::string(option.readable) + ") on fd " +
                                    std::to_string(fd) + ": " +
                                    std::generic_category().message(error));
    }
    store_value(settings, option, value);
  }
  return settings;
}

}  // namespace tcpka::detail
