// DESIGN.md's rule for bad input, checked the same way for every subcommand: one line on
// standard error, exit code 2, nothing on standard output.
#pragma once

#include <string>
#include <vector>

namespace tcpka::testing {

// Runs `tcpka_binary subcommand ARGS...` for each ARGS of `cases`, expecting each to be
// refused as bad input (a gtest failure per case that is not, naming it).
void expect_bad_input(const std::string& tcpka_binary, const std::string& subcommand,
                      const std::vector<std::vector<std::string>>& cases);

}  // namespace tcpka::testing
