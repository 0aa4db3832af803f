// cgroup v2 paths as the user gives them and as /proc/PID/cgroup shows them. The v2
// hierarchy is not always at /sys/fs/cgroup: on hybrid hosts (these machines) it sits at
// /sys/fs/cgroup/unified, so its mount point is read from /proc/self/mounts.
#pragma once

#include <string>
#include <string_view>

#include "tcpka/result.h"

namespace tcpka::host {

// Where the cgroup2 hierarchy is mounted; ENOENT when it is not.
Result<std::string> cgroup2_mount();

// A cgroup named by its full path ("/sys/fs/cgroup/unified/a/b") or by its path in the
// hierarchy ("/a/b"), as the hierarchy path /proc/PID/cgroup uses. Fails with ENOENT for
// a cgroup that does not exist.
Result<std::string> cgroup_path(std::string_view given);

// Whether `cgroup` is `ancestor` or below it ("/a/b" is below "/a", not below "/ab").
bool cgroup_within(std::string_view cgroup, std::string_view ancestor);

}  // namespace tcpka::host
