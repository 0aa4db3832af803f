#include "host/cgroups.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tcpka::host {

Result<std::string> cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string device;
    std::string point;
    std::string type;
    if (fields >> device >> point >> type && type == "cgroup2") return point;
  }
  return errno_error(ENOENT, "no cgroup2 hierarchy is mounted (/proc/self/mounts)");
}

Result<std::string> cgroup_path(std::string_view given) {
  auto mount = cgroup2_mount();
  if (!mount) return mount.error();
  std::filesystem::path path(given);
  std::error_code error;
  if (path.is_relative()) path = "/" / path;
  // A full path under the mount point, or a path in the hierarchy.
  std::filesystem::path full = path;
  const std::string text = path.lexically_normal().string();
  if (text.rfind(*mount, 0) != 0) full = std::filesystem::path(*mount) / path.relative_path();
  full = full.lexically_normal();
  if (!std::filesystem::is_directory(full, error)) {
    return errno_error(ENOENT,
                       "no cgroup " + std::string(given) + " (looked for " + full.string() + ")");
  }
  std::string relative = "/" + full.lexically_relative(*mount).string();
  if (relative == "/.") relative = "/";
  while (relative.size() > 1 && relative.back() == '/')
    relative.pop_back();
  return relative;
}

bool cgroup_within(std::string_view cgroup, std::string_view ancestor) {
  if (ancestor == "/" || ancestor.empty()) return true;
  if (!cgroup.starts_with(ancestor)) return false;
  return cgroup.size() == ancestor.size() || cgroup[ancestor.size()] == '/';
}

}  // namespace tcpka::host
