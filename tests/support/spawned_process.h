// A program started in the background for a test, with its output read as it comes.
// It is always bounded: the destructor kills it with SIGKILL if it still runs, and
// every path reaps it. A test that crashes (no destructor runs) takes it along: the
// child asks for SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG), so
// start it from the thread that outlives it. (The kernel drops that request when the
// child changes its credentials, e.g. through setpriv.)
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpka::testing {

class SpawnedProcess {
 public:
  struct Options {
    std::optional<std::uint64_t> fd_limit;  // RLIMIT_NOFILE (soft and hard) for the child
    bool input = false;                     // standard input from a pipe (write_input, close_input)
  };

  // Throws when it cannot be started.
  static SpawnedProcess start(const std::vector<std::string>& argv, Options options);
  static SpawnedProcess start(const std::vector<std::string>& argv) { return start(argv, {}); }

  SpawnedProcess(SpawnedProcess&& other) noexcept;
  SpawnedProcess& operator=(SpawnedProcess&&) = delete;
  SpawnedProcess(const SpawnedProcess&) = delete;
  ~SpawnedProcess();

  pid_t pid() const { return pid_; }

  // Reads what the process writes for up to `wait` (returning as soon as something came).
  void read_output(std::chrono::milliseconds wait) { pump(wait); }

  // Waits up to `limit` for a line of standard output containing `needle`.
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds limit);
  // Waits up to `limit` for standard error to contain `needle`.
  bool wait_for_error(std::string_view needle, std::chrono::milliseconds limit);
  // With Options::input: writes to its standard input, or closes it (end of file).
  void write_input(std::string_view text);
  void close_input();
  // Every whole line of standard output read so far.
  const std::vector<std::string>& lines() const { return lines_; }
  // The same, as one text: each line with its newline.
  std::string output() const {
    std::string text;
    for (const std::string& line : lines_)
      text += line + "\n";
    return text;
  }
  const std::string& error_output() const { return err_; }

  void signal(int number) const;
  // Waits up to `limit` for it to exit, reading its output meanwhile; its exit code, or
  // empty if it had to be killed (or died of a signal).
  std::optional<int> wait_exit(std::chrono::milliseconds limit);

  // User + system CPU time it has used so far.
  std::chrono::milliseconds cpu_time() const;
  // Its resident set size now, in bytes.
  std::uint64_t resident_bytes() const;

 private:
  SpawnedProcess(pid_t pid, int out, int err, int in)
      : pid_(pid), out_(out), err_fd_(err), in_(in) {}

  // Reads what is available, waiting at most `wait` for something to arrive.
  void pump(std::chrono::milliseconds wait);
  void kill_and_reap();

  pid_t pid_ = -1;
  int out_ = -1;
  int err_fd_ = -1;
  int in_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string partial_;
  std::vector<std::string> lines_;
  std::string err_;
};

}  // namespace tcpka::testing
