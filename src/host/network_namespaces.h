// Every network namespace of the host: those of all processes (/proc/PID/ns/net), those
// mounted by name (/run/netns, `ip netns add`) and those a process holds open by a
// descriptor with no process inside (the lab's), each opened once, so that a tool
// can enter it and see its sockets and sysctls (namespaces are per thread in Linux).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/process_table.h"
#include "net/net_namespace.h"
#include "tcpka/result.h"

namespace tcpka::host {

struct NetworkNamespace {
  net::NetNamespace handle;
  std::uint64_t inode = 0;
  std::vector<std::string> names;  // its names in /run/netns
  pid_t first_pid = 0;             // a process in it (0: only named)
  bool own = false;                // the namespace tcpka runs in
  bool initial = false;            // pid 1's: the host's own network
  pid_t held_by = 0;               // no process in it: a process holding it open
};

// The caller's namespace first, then the others by inode. Namespaces whose processes
// exited before they were opened are left out.
Result<std::vector<NetworkNamespace>> list_network_namespaces(const ProcessTable& processes);

// "host" for pid 1's namespace, "own" for tcpka's own (when that is not pid 1's), else
// its first name in /run/netns, else "pid N" of its oldest process, else "held by pid N",
// else "netns INODE": how a person tells namespaces apart in a table.
std::string label(const NetworkNamespace& ns);

}  // namespace tcpka::host
