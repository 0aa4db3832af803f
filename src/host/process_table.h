// Every process of the host as /proc shows it, and which of them hold which sockets: the
// owner map `ss -p` builds, read once for every tool that names a socket's owner
// (inspect, watch, exec --check).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcpka::host {

struct ProcessInfo {
  pid_t pid = 0;
  std::string command;      // /proc/PID/comm
  std::string cgroup;       // its cgroup v2 path ("/system.slice/x.service"), "" if none
  std::uint64_t netns = 0;  // the inode of its network namespace
};

// One descriptor of one process that refers to a socket.
struct SocketHolder {
  pid_t pid = 0;
  int fd = -1;
};

struct ProcessTable {
  std::unordered_map<pid_t, ProcessInfo> processes;
  // Socket inode -> who holds it. A socket may be held by several (fork, SCM_RIGHTS).
  std::unordered_map<std::uint64_t, std::vector<SocketHolder>> holders;
  // Network namespace inode -> a descriptor that holds it open ("net:[INODE]"): how the
  // namespaces no process runs in are found, such as those `tcpka lab` holds.
  std::unordered_map<std::uint64_t, SocketHolder> namespace_holders;
  // Processes whose descriptors could not be listed (not ours, without root).
  int unreadable = 0;
};

// Walks /proc. Processes that exit meanwhile are left out, never reported as errors.
ProcessTable read_process_table();
// The same for one process: empty if it does not exist (any more).
ProcessTable read_process_table(pid_t pid);

}  // namespace tcpka::host
