// The one line a tool prints when it cannot go on.
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <string_view>

#include "cli/exit_codes.h"

namespace tcpka::tools {

// Prints "tcpka <command>: <message>" on stderr and returns `code`.
inline int fail(std::string_view command, std::string_view message, ExitCode code) {
  fmt::print(stderr, "tcpka {}: {}\n", command, message);
  return code;
}

}  // namespace tcpka::tools
