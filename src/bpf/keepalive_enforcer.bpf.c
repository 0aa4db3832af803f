// SPDX-License-Identifier: GPL-2.0
// Keepalive and a user timeout for every TCP connection of a cgroup, set by the kernel as
// each connection is established, whatever the program (a static Go binary included).
//
// Three programs share one policy (a map: changing it needs no re-attach):
//   sockops              on ACTIVE_/PASSIVE_ESTABLISHED_CB, bpf_setsockopt() each option
//                        the policy sets (Linux 5.9+ for SO_KEEPALIVE from BPF), and on
//                        TCP_LISTEN_CB the same on the listener, whose accepted
//                        connections then inherit it and need no call at all.
//   cgroup/setsockopt    only with `override`: the programs' own setsockopt calls of these
//                        options get the policy's value, and SO_KEEPALIVE=0 is refused
//                        (EPERM). It is not attached otherwise: every setsockopt of the
//                        cgroup would pay for it (bench/enforce_rate.sh).
// Without override a program's own value wins, as under `tcpka exec`: an option the
// socket already holds with a value other than the default (0, keepalive off) when it is
// established or listens was set by its program (or inherited from a listener that was),
// and is left alone; and one the program sets afterwards (Go does, after accept and dial)
// simply replaces the policy's. A program that explicitly set an option to its default
// before connecting cannot be told from one that never asked.
//   iter/tcp             for --existing: the connections established before the attach,
//                        in the cgroup or below it, get the policy now.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "keepalive_enforcer_maps.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

#define SOL_SOCKET 1
#define SO_KEEPALIVE 9
#define SOL_TCP 6
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_USER_TIMEOUT 18
#define EPERM 1

// The kernel's HZ: keepalive timings are held in jiffies (see tcp_deaths.bpf.c).
extern unsigned int CONFIG_HZ __kconfig __weak;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct enforced_policy);
} policy SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, ENFORCE_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

// What the attachment is, for `tcpka enforce --list` to read from a pinned one.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct enforcement_about);
} about SEC(".maps");

// The options this program set on a listener (OPTION_* bits), cloned to the connections
// it accepts: inherited values that are the enforcer's, not the program's own, so that
// a policy changed since the listen() still reaches them.
struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
  __type(key, int);
  __type(value, __u8);
} set_on_listener SEC(".maps");

// For the iterator: the cgroup whose connections (and its descendants') get the policy.
const volatile __u64 target_cgroup_id = 0;
const volatile __u32 target_cgroup_level = 0;

static void count(__u32 which) {
  __u64* counter = bpf_map_lookup_elem(&counters, &which);
  if (counter) *counter += 1;
}

static const struct enforced_policy* current_policy(void) {
  const __u32 zero = 0;
  return bpf_map_lookup_elem(&policy, &zero);
}

// Which OPTION_* bit a (level, name) pair is; 0 for an option the policy does not set.
static __u8 option_bit(int level, int name) {
  if (level == SOL_SOCKET && name == SO_KEEPALIVE) return OPTION_KEEPALIVE;
  if (level != SOL_TCP) return 0;
  if (name == TCP_KEEPIDLE) return OPTION_IDLE;
  if (name == TCP_KEEPINTVL) return OPTION_INTERVAL;
  if (name == TCP_KEEPCNT) return OPTION_COUNT;
  if (name == TCP_USER_TIMEOUT) return OPTION_USER_TIMEOUT;
  return 0;
}

// The policy's value for an option it sets.
static int policy_value(const struct enforced_policy* p, __u8 bit) {
  switch (bit) {
    case OPTION_KEEPALIVE:
      return 1;
    case OPTION_IDLE:
      return p->idle_seconds;
    case OPTION_INTERVAL:
      return p->interval_seconds;
    case OPTION_COUNT:
      return p->count;
    default:
      return p->user_timeout_ms;
  }
}

// Whether to set `bit` on a connection whose program set `own` itself.
static int wanted(const struct enforced_policy* p, __u8 own, __u8 bit) {
  if (!(p->options & bit)) return 0;
  if ((own & bit) && !p->override) {
    count(COUNTER_KEPT_OWN);
    return 0;
  }
  return 1;
}

static int level_of(__u8 bit) {
  return bit == OPTION_KEEPALIVE ? SOL_SOCKET : SOL_TCP;
}

static int name_of(__u8 bit) {
  switch (bit) {
    case OPTION_KEEPALIVE:
      return SO_KEEPALIVE;
    case OPTION_IDLE:
      return TCP_KEEPIDLE;
    case OPTION_INTERVAL:
      return TCP_KEEPINTVL;
    case OPTION_COUNT:
      return TCP_KEEPCNT;
    default:
      return TCP_USER_TIMEOUT;
  }
}

// SO_KEEPALIVE goes last: the timings set before it arm no timer (keepalive is not on
// yet), and it arms the timer once, with them.
// The policy through bpf_setsockopt(), whose context is a bpf_sock_ops in sockops and
// the socket itself in an iterator: the same loop twice. Returns the calls that failed.
// Whether the socket already holds `value` for `bit`: an accepted connection inherits
// what its listener had, and the listener got the policy at listen(). A setsockopt is
// not free (SO_KEEPALIVE re-arms the timer): skipping those that change nothing is most
// of what keeps the cost per connection down (bench/enforce_rate.sh).
static int already_set(const struct tcp_sock* tp, __u8 bit, int value) {
  // Plain loads from the BTF pointer (CO-RE relocated all the same): BPF_CORE_READ's
  // address arithmetic would be hoisted above the null check, which the verifier refuses.
  if (!tp) return 0;
  switch (bit) {
    case OPTION_KEEPALIVE:
      return (tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags >> SOCK_KEEPOPEN) & 1;
    case OPTION_IDLE:
      return CONFIG_HZ != 0 && tp->keepalive_time == (__u32)value * CONFIG_HZ;
    case OPTION_INTERVAL:
      return CONFIG_HZ != 0 && tp->keepalive_intvl == (__u32)value * CONFIG_HZ;
    case OPTION_COUNT:
      return tp->keepalive_probes == value;
    default:
      return tp->inet_conn.icsk_user_timeout == (__u32)value;
  }
}

// The options a socket holds with other than their default (0, keepalive off): set by
// its program (see the top of this file).
static __u8 own_settings(const struct tcp_sock* tp) {
  if (!tp) return 0;
  __u8 own = 0;
  if ((tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags >> SOCK_KEEPOPEN) & 1) {
    own |= OPTION_KEEPALIVE;
  }
  if (tp->keepalive_time) own |= OPTION_IDLE;
  if (tp->keepalive_intvl) own |= OPTION_INTERVAL;
  if (tp->keepalive_probes) own |= OPTION_COUNT;
  if (tp->inet_conn.icsk_user_timeout) own |= OPTION_USER_TIMEOUT;
  return own;
}

static int apply_by_ops(struct bpf_sock_ops* ops, const struct enforced_policy* p, int listening) {
  struct bpf_sock* sk = ops->sk;  // read once: the verifier must see the check
  if (!sk) return 0;
  const struct tcp_sock* tp = bpf_skc_to_tcp_sock(sk);
  __u8 own = own_settings(tp);
  __u8* ours =
      bpf_sk_storage_get(&set_on_listener, sk, 0, listening ? BPF_SK_STORAGE_GET_F_CREATE : 0);
  if (ours && !listening) own &= ~*ours;
  int failures = 0;
  for (__u8 bit = OPTION_USER_TIMEOUT; bit != 0; bit >>= 1) {
    int value = policy_value(p, bit);
    // Held already (a listener's, inherited): nothing to do, and not the program's.
    if ((p->options & bit) && already_set(tp, bit, value)) {
      if (listening && ours) *ours |= bit;
      continue;
    }
    if (!wanted(p, own, bit)) continue;
    if (listening && ours) *ours |= bit;
    if (bpf_setsockopt(ops, level_of(bit), name_of(bit), &value, sizeof(value)) != 0) failures++;
  }
  return failures;
}

static int apply_by_sock(struct sock* sk, const struct enforced_policy* p, __u8 own) {
  int failures = 0;
  for (__u8 bit = OPTION_USER_TIMEOUT; bit != 0; bit >>= 1) {
    if (!wanted(p, own, bit)) continue;
    int value = policy_value(p, bit);
    if (bpf_setsockopt(sk, level_of(bit), name_of(bit), &value, sizeof(value)) != 0) failures++;
  }
  return failures;
}

SEC("sockops")
int enforce_on_establish(struct bpf_sock_ops* ops) {
  const int listening = ops->op == BPF_SOCK_OPS_TCP_LISTEN_CB;
  if (!listening && ops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
      ops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
    return 1;
  }
  const struct enforced_policy* p = current_policy();
  if (!p || p->options == 0) return 1;
  const int failures = apply_by_ops(ops, p, listening);
  if (!listening) count(failures == 0 ? COUNTER_COVERED : COUNTER_FAILED);
  return 1;
}

SEC("cgroup/setsockopt")
int override_own_settings(struct bpf_sockopt* ctx) {
  const __u8 bit = option_bit(ctx->level, ctx->optname);
  if (bit == 0) return 1;
  const struct enforced_policy* p = current_policy();
  if (!p || !p->override || !(p->options & bit)) return 1;
  int* value = ctx->optval;
  if ((void*)(value + 1) > ctx->optval_end) return 1;  // not an int: the kernel refuses it
  if (bit == OPTION_KEEPALIVE && *value == 0) {
    count(COUNTER_REFUSED);
    return 0;  // EPERM: keepalive stays on
  }
  *value = policy_value(p, bit);
  count(COUNTER_OVERRIDDEN);
  return 1;
}

// Whether `sk` was made in the target cgroup or below it.
static int in_target_cgroup(const struct sock* sk) {
  const struct cgroup* cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
  if (!cgroup) return 0;
  const int level = BPF_CORE_READ(cgroup, level);
  if (level < (int)target_cgroup_level) return 0;
  // cgroup->ancestors[level] is the cgroup itself, [target level] its ancestor there.
  const struct cgroup* ancestor = NULL;
  bpf_probe_read_kernel(&ancestor, sizeof(ancestor), &cgroup->ancestors[target_cgroup_level & 255]);
  if (!ancestor) return 0;
  return BPF_CORE_READ(ancestor, kn, id) == target_cgroup_id;
}

SEC("iter/tcp")
int enforce_on_existing(struct bpf_iter__tcp* ctx) {
  struct sock_common* common = ctx->sk_common;
  if (!common) return 0;
  struct tcp_sock* tp = bpf_skc_to_tcp_sock(common);
  if (!tp) return 0;
  struct sock* sk = (struct sock*)tp;
  if (sk->__sk_common.skc_state != TCP_ESTABLISHED || !in_target_cgroup(sk)) return 0;
  const struct enforced_policy* p = current_policy();
  if (!p || p->options == 0) return 0;
  const __u8 own = own_settings(tp);
  const int failures = apply_by_sock(sk, p, own);
  const __u64 cookie = bpf_get_socket_cookie(sk);
  struct existing_record record = {.cookie = cookie, .failures = failures};
  bpf_seq_write(ctx->meta->seq, &record, sizeof(record));
  return 0;
}
