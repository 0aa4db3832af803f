// A cgroup v2 of a test's own under the cgroup2 mount, removed at the end (its processes
// are moved back to the root first, so that rmdir can succeed).
#pragma once

#include <sys/types.h>

#include <string>

namespace tcpka::testing {

class TestCgroup {
 public:
  // "/tcpka-<purpose>-<pid>" in the hierarchy. Throws when it cannot be made.
  explicit TestCgroup(const std::string& purpose);
  ~TestCgroup();
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  void add(pid_t pid) const;
  // Its path in the hierarchy ("/tcpka-...") and under the mount ("/sys/fs/cgroup/...").
  const std::string& name() const { return name_; }
  std::string directory() const { return mount_ + name_; }

 private:
  std::string mount_;
  std::string name_;
};

}  // namespace tcpka::testing
