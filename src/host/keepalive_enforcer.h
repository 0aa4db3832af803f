// src/bpf/keepalive_enforcer.bpf.c, loaded: keepalive and a user timeout for every TCP
// connection of a cgroup v2 and its descendants, set by the kernel as each connection is
// established (a sockops program), whatever the program that makes it. Linux 5.10+ with
// BTF; attaching needs CAP_BPF and CAP_NET_ADMIN, or root.
//
// The attachment lives as long as its links: while this object lives, or, pinned in a
// BPF filesystem, until the pins are removed (remove_pinned_enforcement).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tcpka/policy.h"
#include "tcpka/result.h"

struct keepalive_enforcer;  // the skeleton (bpftool gen skeleton)

namespace tcpka::host {

// What the kernel is asked to set: the options a policy gives, in the kernel's units.
struct EnforcedPolicy {
  std::optional<int> idle_seconds;
  std::optional<int> interval_seconds;
  std::optional<int> count;
  std::optional<Millis> user_timeout;  // 0: set to none
  bool override = false;               // the programs' own settings do not win
  std::string text;                    // as the user gave it, for --list
};

// From a parsed policy and what it resolves to on this host (ut=auto computed there).
// Fails for a policy that turns keepalive off: there is nothing to enforce.
Result<EnforcedPolicy> enforced_policy_from(const Policy& policy, const ResolvedPolicy& resolved,
                                            bool override, std::string text);

struct EnforcementCounters {
  std::uint64_t covered = 0;     // connections established with the policy applied
  std::uint64_t kept_own = 0;    // options left as their program set them
  std::uint64_t overridden = 0;  // programs' setsockopt calls rewritten (override)
  std::uint64_t refused = 0;     // programs' SO_KEEPALIVE=0 refused (override)
  std::uint64_t failed = 0;      // connections where the kernel refused an option
};

struct ExistingConnections {
  int changed = 0;  // established connections of the cgroup given the policy now
  int failed = 0;   // of those, connections where an option could not be set
};

// A cgroup v2 as the enforcer needs it: its path in the hierarchy, id and depth.
struct EnforcedCgroup {
  std::string path;  // "/system.slice/x.service"
  std::uint64_t id = 0;
  int level = 0;  // 0 for the root
};

// Opens the cgroup named as inspect --cgroup takes it; EINVAL for no such cgroup.
Result<EnforcedCgroup> find_cgroup(const std::string& given);

class KeepaliveEnforcer {
 public:
  // Loads the programs with `policy` in their map, and attaches them to `cgroup`.
  static Result<KeepaliveEnforcer> attach(const EnforcedCgroup& cgroup,
                                          const EnforcedPolicy& policy);

  KeepaliveEnforcer(KeepaliveEnforcer&&) noexcept;
  KeepaliveEnforcer& operator=(KeepaliveEnforcer&&) noexcept;
  ~KeepaliveEnforcer();  // detaches, unless pinned

  // Gives the policy to the cgroup's connections established before the attach, in
  // every network namespace this process can enter.
  Result<ExistingConnections> apply_to_existing() const;

  // Pins the links and maps under `directory` (in a BPF filesystem) so that the
  // attachment outlives this process.
  Result<void> pin(const std::string& directory) const;

  EnforcementCounters counters() const;

 private:
  struct State;
  explicit KeepaliveEnforcer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Whether tcpka enforce's sockops program is in force for the cgroup at `cgroup_path` (in
// the hierarchy): attached there or to an ancestor, pinned or not. False where the
// programs cannot be queried (no privilege). Answers are kept per cgroup.
class EnforcementQuery {
 public:
  bool covers(const std::string& cgroup_path);

 private:
  std::map<std::string, bool> known_;
};

// An attachment pinned by an earlier `tcpka enforce --pin`.
struct PinnedEnforcement {
  std::string directory;
  std::string cgroup;
  std::string policy;
  pid_t pid = 0;  // the tcpka that attached it (long gone, usually)
  std::uint64_t started_unix_seconds = 0;
  EnforcementCounters counters;
};

// Where pins go: `bpffs`/tcpka/cgroup-<id>.
std::string pin_directory(const std::string& bpffs, const EnforcedCgroup& cgroup);

// ENOTSUP naming the problem when `bpffs` is not a mounted BPF filesystem.
Result<void> require_bpffs(const std::string& bpffs);

// Every attachment pinned under `bpffs`.
Result<std::vector<PinnedEnforcement>> list_pinned_enforcements(const std::string& bpffs);

// Replaces the policy of the attachment pinned in `directory` (no re-attach).
Result<void> update_pinned_policy(const std::string& directory, const EnforcedPolicy& policy);

// Unpins (and so detaches) the attachment pinned in `directory`. ENOENT when none is.
Result<void> remove_pinned_enforcement(const std::string& directory);

}  // namespace tcpka::host
