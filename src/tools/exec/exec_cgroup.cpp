#include "exec/exec_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "host/cgroups.h"

namespace tcpka::tools {
namespace {

// tcpka's own cgroup v2 path ("0::/user.slice/..." in /proc/self/cgroup).
Result<std::string> own_cgroup() {
  std::ifstream file("/proc/self/cgroup");
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return errno_error(ENOENT, "tcpka is in no cgroup v2 (/proc/self/cgroup has no 0:: line)");
}

Result<void> write_pid(const std::string& directory, pid_t pid) {
  std::ofstream procs(directory + "/cgroup.procs");
  procs << pid << "\n";
  procs.close();
  if (!procs)
    return errno_error(EACCES, "cannot move pid " + std::to_string(pid) + " into " + directory);
  return {};
}

}  // namespace

Result<ExecCgroup> ExecCgroup::create() {
  auto mount = host::cgroup2_mount();
  if (!mount) return mount.error();
  auto own = own_cgroup();
  if (!own) return own.error();
  const std::string parent = *mount + (*own == "/" ? "" : *own);
  const std::string name = "tcpka-exec-" + std::to_string(::getpid());
  const std::string directory = parent + "/" + name;
  if (::mkdir(directory.c_str(), 0755) != 0) {
    const int error = errno;
    return errno_error(error, "cannot make the cgroup " + directory + ": " +
                                  std::generic_category().message(error));
  }
  return ExecCgroup((*own == "/" ? "" : *own) + "/" + name, directory, parent);
}

ExecCgroup::~ExecCgroup() {
  if (directory_.empty()) return;
  std::ifstream procs(directory_ + "/cgroup.procs");
  for (pid_t pid = 0; procs >> pid;)
    (void)write_pid(parent_, pid);
  ::rmdir(directory_.c_str());
}

Result<void> ExecCgroup::add(pid_t pid) const {
  return write_pid(directory_, pid);
}

}  // namespace tcpka::tools
