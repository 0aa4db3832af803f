#include "support/test_cgroup.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "host/cgroups.h"

namespace tcpka::testing {

TestCgroup::TestCgroup(const std::string& purpose) {
  auto mount = host::cgroup2_mount();
  if (!mount) throw std::runtime_error(mount.error().message);
  mount_ = *mount;
  name_ = "/tcpka-" + purpose + "-" + std::to_string(::getpid());
  std::filesystem::create_directory(mount_ + name_);
}

TestCgroup::~TestCgroup() {
  std::ifstream procs(mount_ + name_ + "/cgroup.procs");
  for (std::string pid; std::getline(procs, pid);) {
    std::ofstream(mount_ + "/cgroup.procs") << pid << "\n";
  }
  std::error_code ignored;
  std::filesystem::remove(mount_ + name_, ignored);
}

void TestCgroup::add(pid_t pid) const {
  std::ofstream procs(mount_ + name_ + "/cgroup.procs");
  procs << pid << "\n";
  procs.close();
  if (!procs) throw std::runtime_error("cannot move a process into " + name_);
}

}  // namespace tcpka::testing
