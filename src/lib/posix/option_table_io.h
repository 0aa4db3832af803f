// Setting and reading a table of integer socket options with setsockopt/getsockopt,
// shared by the POSIX platforms (Linux, macOS).
#pragma once

#include <span>

#include "../socket_option.h"
#include "tcpka/result.h"
#include "tcpka/socket_options.h"

namespace tcpka::detail {

// The first option that could not be set, and why.
struct OptionFailure {
  const OptionDescriptor* option = nullptr;  // null: every option was set
  int value = 0;
  int error = 0;  // errno
};

// Sets, in table order, every option whose field `policy` gives, and stops at the first
// failure. Allocates nothing and leaves errno as it found it: the LD_PRELOAD shim calls
// it from inside the hooked socket().
OptionFailure set_options(int fd, std::span<const OptionDescriptor> table,
                          const Policy& policy) noexcept;

// set_options(), with a failure turned into a readable Error.
Result<void> apply_option_table(int fd, std::span<const OptionDescriptor> table,
                                const Policy& policy);

// Reads every option of the table: on these platforms every field reads back.
Result<PolicyReading> read_option_table(int fd, std::span<const OptionDescriptor> table);

}  // namespace tcpka::detail
