// What src/bpf/keepalive_enforcer.bpf.c and its loader (src/host/keepalive_enforcer.cpp)
// share: the policy map's value, the counters, the iterator's records and the
// description kept with a pinned attachment. Fixed-size types, no padding left to the
// compilers.
#ifndef TCPKA_BPF_KEEPALIVE_ENFORCER_MAPS_H
#define TCPKA_BPF_KEEPALIVE_ENFORCER_MAPS_H

#include "record_types.h"

// NOLINTBEGIN(readability-identifier-naming): C constants, named as the BPF side names them
// The options a policy sets, and those a program set itself.
enum {
  OPTION_KEEPALIVE = 1,  // SO_KEEPALIVE on
  OPTION_IDLE = 2,       // TCP_KEEPIDLE
  OPTION_INTERVAL = 4,   // TCP_KEEPINTVL
  OPTION_COUNT = 8,      // TCP_KEEPCNT
  OPTION_USER_TIMEOUT = 16,
};

// NOLINTNEXTLINE(readability-identifier-naming): a C struct, named as the BPF side names
struct enforced_policy {
  tcpka_u32 idle_seconds;
  tcpka_u32 interval_seconds;
  tcpka_u32 count;
  tcpka_u32 user_timeout_ms;
  tcpka_u8 options;   // OPTION_* the policy sets
  tcpka_u8 override;  // the programs' own settings of them do not win
  tcpka_u8 padding[2];
};

// Indices of the per-CPU counters.
enum {
  COUNTER_COVERED = 0,     // connections established with the policy applied
  COUNTER_KEPT_OWN = 1,    // options left as their program set them (no override)
  COUNTER_OVERRIDDEN = 2,  // a program's setsockopt rewritten to the policy's value
  COUNTER_REFUSED = 3,     // a program's SO_KEEPALIVE=0 refused (override)
  COUNTER_FAILED = 4,      // connections where a bpf_setsockopt() failed
  ENFORCE_COUNTERS = 5,
};
// NOLINTEND(readability-identifier-naming)

// The iterator's record for each existing connection it gave the policy.
// NOLINTNEXTLINE(readability-identifier-naming)
struct existing_record {
  tcpka_u64 cookie;
  tcpka_s32 failures;  // bpf_setsockopt() calls that failed
  tcpka_u32 padding;
};

// Kept in a map of its own with a pinned attachment, for `tcpka enforce --list`.
// NOLINTNEXTLINE(readability-identifier-naming)
struct enforcement_about {
  tcpka_u64 cgroup_id;
  tcpka_u64 started_unix_seconds;
  tcpka_u32 pid;  // the tcpka that attached it
  tcpka_u32 padding;
  char cgroup[256];  // its path in the hierarchy
  char policy[64];   // as given
};

#endif
