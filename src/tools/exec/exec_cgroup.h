// The cgroup `tcpka exec` runs a program in when the kernel must enforce its policy
// (BPF works per cgroup): a child of tcpka's own cgroup v2, made for the run and removed
// after it.
#pragma once

#include <sys/types.h>

#include <string>

#include "tcpka/result.h"

namespace tcpka::tools {

class ExecCgroup {
 public:
  // Makes <tcpka's cgroup>/tcpka-exec-<tcpka's pid>.
  static Result<ExecCgroup> create();

  ExecCgroup(ExecCgroup&& other) noexcept
      : path_(std::move(other.path_)),
        directory_(std::move(other.directory_)),
        parent_(std::move(other.parent_)) {
    other.directory_.clear();
  }
  ExecCgroup& operator=(ExecCgroup&&) = delete;
  ~ExecCgroup();  // moves what is left in it to the parent, then removes it

  Result<void> add(pid_t pid) const;
  const std::string& path() const { return path_; }  // in the hierarchy: "/x/tcpka-exec-1"

 private:
  ExecCgroup(std::string path, std::string directory, std::string parent)
      : path_(std::move(path)), directory_(std::move(directory)), parent_(std::move(parent)) {}

  std::string path_;
  std::string directory_;  // under the cgroup2 mount
  std::string parent_;     // the parent's directory
};

}  // namespace tcpka::tools
