// The processes and network namespaces of the running system, read from /proc: what
// the lab tests use to prove that nothing of the lab outlives it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tcpka::testing {

// The inode behind a /proc link such as "net:[4026532000]", or 0.
inline ino_t namespace_inode(const std::filesystem::path& link) {
  std::error_code error;
  const std::string target = std::filesystem::read_symlink(link, error).string();
  if (error || target.rfind("net:[", 0) != 0) return 0;
  return std::stoul(target.substr(5));
}

// The network namespaces `pid` holds: those its threads are in, and those its
// descriptors refer to.
inline std::set<ino_t> namespaces_held_by(pid_t pid) {
  std::set<ino_t> held;
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(proc / "task", error)) {
    if (ino_t ino = namespace_inode(task.path() / "ns" / "net")) held.insert(ino);
  }
  for (const auto& fd : std::filesystem::directory_iterator(proc / "fd", error)) {
    if (ino_t ino = namespace_inode(fd.path())) held.insert(ino);
  }
  return held;
}

inline std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

inline pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto after_name = line.rfind(')');
  if (after_name == std::string::npos) return 0;
  std::istringstream rest(line.substr(after_name + 2));
  char state = 0;
  pid_t parent = 0;
  rest >> state >> parent;
  return parent;
}

inline std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  for (pid_t candidate : all_pids()) {
    if (parent_of(candidate) == pid) children.push_back(candidate);
  }
  return children;
}

inline bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

inline std::set<std::string> host_links() {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net"))
    names.insert(entry.path().filename());
  return names;
}

}  // namespace tcpka::testing
