#include "host/cgroup_names.h"

#include <sys/stat.h>

#include <filesystem>

#include "host/cgroups.h"

namespace tcpka::host {

const std::string& CgroupNames::path_of(std::uint64_t id) {
  static const std::string kUnknown;
  if (id == 0) return kUnknown;
  auto found = paths_.find(id);
  if (found != paths_.end()) return found->second;
  const auto now = std::chrono::steady_clock::now();
  if (walked_ && now - walked_at_ < rescan_after_) return kUnknown;
  walk();
  walked_at_ = now;
  walked_ = true;
  found = paths_.find(id);
  return found != paths_.end() ? found->second : kUnknown;
}

void CgroupNames::walk() {
  auto mount = cgroup2_mount();
  if (!mount) return;
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path root(*mount);
  const auto remember = [&](const fs::path& directory) {
    struct stat status {};
    if (::stat(directory.c_str(), &status) != 0) return;
    std::string relative = "/" + directory.lexically_relative(root).string();
    if (relative == "/.") relative = "/";
    paths_[status.st_ino] = std::move(relative);
  };
  remember(root);
  for (fs::recursive_directory_iterator
           it(root, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end; it.increment(error)) {
    if (it->is_directory(error)) remember(it->path());
  }
}

}  // namespace tcpka::host
