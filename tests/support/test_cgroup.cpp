#include "support/test_cgroup.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "host/cgroups.h"

namespace tcpka::testing {

TestCgroup::TestCgroup(const std::string& purpose) {
  auto mount = host::cgroup2_mount();
  if (!mount) throw std::runtime_error(mount.error().message);
  mount_ = *mount;
  name_ = "/tcpka-" + purpose + "-" + std::to_string(::getpid());
  std::filesystem::create_directory(mount_ + name_);
}

// The test's processes are moved out, then the cgroup removed. A process that forks while
// they move (a shell starting its server) puts its child in the cgroup after the list
// was read, and the removal then fails with EBUSY: moved again, tried again, for a while.
TestCgroup::~TestCgroup() {
  constexpr int kAttempts = 100;
  constexpr auto kPause = std::chrono::milliseconds(10);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::ifstream procs(mount_ + name_ + "/cgroup.procs");
    for (std::string pid; std::getline(procs, pid);) {
      std::ofstream(mount_ + "/cgroup.procs") << pid << "\n";
    }
    std::error_code error;
    std::filesystem::remove(mount_ + name_, error);
    if (!error || !std::filesystem::exists(mount_ + name_)) return;
    std::this_thread::sleep_for(kPause);
  }
}

void TestCgroup::add(pid_t pid) const {
  std::ofstream procs(mount_ + name_ + "/cgroup.procs");
  procs << pid << "\n";
  procs.close();
  if (!procs) throw std::runtime_error("cannot move a process into " + name_);
}

}  // namespace tcpka::testing
