// Setting and reading a table of integer socket options with setsockopt/getsockopt,
// shared by the POSIX platforms (Linux, macOS).
#pragma once

#include <span>

#include "../socket_option.h"
#include "tcpka/result.h"

namespace tcpka::detail {

// Sets, in table order, every option whose field `policy` gives.
Result<void> apply_option_table(int fd, std::span<const OptionDescriptor> table,
                                const Policy& policy);

// Reads every option of the table into a Policy.
Result<Policy> read_option_table(int fd, std::span<const OptionDescriptor> table);

}  // namespace tcpka::detail
