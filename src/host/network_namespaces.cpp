#include "host/network_namespaces.h"

#include <algorithm>
#include <filesystem>
#include <map>

namespace tcpka::host {
namespace {

constexpr const char* kNamedNamespaces = "/run/netns";

}  // namespace

Result<std::vector<NetworkNamespace>> list_network_namespaces(const ProcessTable& processes) {
  auto own = net::NetNamespace::current();
  if (!own) return own.error();
  const std::uint64_t own_inode = own->inode();

  // inode -> the names it has, then the processes in it.
  std::map<std::uint64_t, NetworkNamespace> found;
  found.emplace(own_inode, NetworkNamespace{std::move(*own), own_inode, {}, 0, true});

  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(kNamedNamespaces, error)) {
    auto ns = net::NetNamespace::open(entry.path().string());
    if (!ns) continue;  // a stale name: its mount is gone
    const std::uint64_t inode = ns->inode();
    auto [it, added] = found.try_emplace(inode, NetworkNamespace{std::move(*ns), inode, {}, 0});
    it->second.names.push_back(entry.path().filename().string());
  }

  // Lowest pid first: the oldest process names the namespace in tables.
  std::vector<pid_t> pids;
  pids.reserve(processes.processes.size());
  for (const auto& [pid, info] : processes.processes)
    pids.push_back(pid);
  std::sort(pids.begin(), pids.end());
  for (const pid_t pid : pids) {
    const ProcessInfo& info = processes.processes.at(pid);
    if (info.netns == 0) continue;
    if (auto it = found.find(info.netns); it != found.end()) {
      if (it->second.first_pid == 0) it->second.first_pid = pid;
      continue;
    }
    auto ns = net::NetNamespace::open("/proc/" + std::to_string(pid) + "/ns/net");
    if (!ns || ns->inode() != info.netns) continue;  // exited, or its pid was reused
    found.emplace(info.netns, NetworkNamespace{std::move(*ns), info.netns, {}, pid});
  }

  // Those no process runs in, held open by a descriptor (the lab's, a test's).
  for (const auto& [inode, holder] : processes.namespace_holders) {
    if (found.contains(inode)) continue;
    auto ns = net::NetNamespace::open("/proc/" + std::to_string(holder.pid) + "/fd/" +
                                      std::to_string(holder.fd));
    if (!ns || ns->inode() != inode) continue;  // closed meanwhile
    found.emplace(inode, NetworkNamespace{std::move(*ns), inode, {}, 0, false, false, holder.pid});
  }

  std::vector<NetworkNamespace> namespaces;
  namespaces.reserve(found.size());
  namespaces.push_back(std::move(found.at(own_inode)));
  found.erase(own_inode);
  for (auto& [inode, ns] : found)
    namespaces.push_back(std::move(ns));
  const auto init = processes.processes.find(1);
  for (auto& ns : namespaces) {
    std::sort(ns.names.begin(), ns.names.end());
    ns.initial = init != processes.processes.end() && init->second.netns == ns.inode;
  }
  return namespaces;
}

std::string label(const NetworkNamespace& ns) {
  if (ns.initial) return "host";
  if (ns.own) return "own";
  if (!ns.names.empty()) return ns.names.front();
  if (ns.first_pid != 0) return "pid " + std::to_string(ns.first_pid);
  if (ns.held_by != 0) return "held by pid " + std::to_string(ns.held_by);
  return "netns " + std::to_string(ns.inode);
}

}  // namespace tcpka::host
