// Running a program the way a user would, bounded in time and always reaped.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tcpka::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;  // it was killed for running past the limit
};

// Runs argv[0] with its arguments, capturing stdout and stderr. A process still running
// at `limit` is killed with SIGKILL; either way it is waited for before returning. It
// also gets SIGKILL if the thread that started it dies (a test that crashes), so nothing
// outlives the test. Throws when it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace tcpka::testing
