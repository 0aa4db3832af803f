#include "exec/program_activity.h"

#include <filesystem>
#include <fstream>
#include <string>

namespace tcpka::tools {
namespace {

// A thread that sleeps, interruptibly, or is stopped; not one running, runnable or in an
// uninterruptible wait (mid-I/O, about to go on).
bool sleeps(char state) {
  return state == 'S' || state == 'T' || state == 't';
}

}  // namespace

Result<ProgramActivity> program_activity(pid_t pid) {
  ProgramActivity activity;
  activity.waiting = true;
  std::error_code error;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    bool read_state = false;
    while (std::getline(status, line)) {
      if (line.rfind("State:", 0) == 0 && line.size() > 7) {
        const auto letter = line.find_first_not_of(" \t", 6);
        if (letter != std::string::npos) {
          activity.waiting = activity.waiting && sleeps(line[letter]);
          read_state = true;
        }
      } else if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
                 line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        activity.switches += std::stoull(line.substr(line.find(':') + 1));
      }
    }
    // A thread that ended between the listing and the read: the program is not still.
    if (!read_state) activity.waiting = false;
    ++activity.threads;
  }
  if (error) {
    return errno_error(error.value(), "cannot read " + tasks.string() + ": " + error.message());
  }
  if (activity.threads == 0) activity.waiting = false;
  return activity;
}

}  // namespace tcpka::tools
