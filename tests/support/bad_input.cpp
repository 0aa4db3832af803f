#include "support/bad_input.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "support/child_process.h"

namespace tcpka::testing {

void expect_bad_input(const std::string& tcpka_binary, const std::string& subcommand,
                      const std::vector<std::vector<std::string>>& cases) {
  for (const auto& arguments : cases) {
    std::vector<std::string> argv = {tcpka_binary, subcommand};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::string shown;
    for (const std::string& argument : arguments)
      shown += (shown.empty() ? "" : " ") + argument;
    const ProcessResult result = run_process(argv, std::chrono::seconds(30));
    EXPECT_EQ(result.exit_code, 2) << shown << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
        << shown << ": " << result.err;
    EXPECT_TRUE(result.out.empty()) << shown << ": " << result.out;
  }
}

}  // namespace tcpka::testing
