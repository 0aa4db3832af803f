// cgroup v2 ids (what BPF sees: the kernfs node id, which is the inode number of the
// cgroup's directory) turned into the paths a person reads ("/system.slice/x.service").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace tcpka::host {

class CgroupNames {
 public:
  // The hierarchy is walked at the first lookup, and walked again for an id it did not
  // have, at most once per `rescan_after`: cgroups come and go (a unit starts, a
  // container runs), and a death may name one made since the last walk.
  explicit CgroupNames(std::chrono::milliseconds rescan_after = std::chrono::seconds(1))
      : rescan_after_(rescan_after) {}

  // The path of cgroup `id` in the hierarchy, "" when it is not (or no longer) there.
  const std::string& path_of(std::uint64_t id);

 private:
  void walk();

  std::chrono::milliseconds rescan_after_;
  std::chrono::steady_clock::time_point walked_at_{};
  bool walked_ = false;
  std::unordered_map<std::uint64_t, std::string> paths_;
};

}  // namespace tcpka::host
