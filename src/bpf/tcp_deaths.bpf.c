// SPDX-License-Identifier: GPL-2.0
// Every TCP connection of the host that ends, at the moment it ends, with why.
//
// One tracepoint does the work: sock:inet_sock_set_state, as a connection moves to
// CLOSE. The kernel ends a connection on an error through tcp_done_with_error(), which
// stores the errno in sk_err before tcp_done() sets the state, so at this tracepoint
// sk_err already says ETIMEDOUT (keepalive, retransmission, user timeout), ECONNRESET or
// EPIPE (a RST), EHOSTUNREACH (ICMP) or ECONNABORTED (ss -K): the same errno that the
// tracepoints sock:inet_sk_error_report and tcp:tcp_receive_reset announce a moment
// earlier, read here without a second event to join. The program's own close shows as
// the states it passed (FIN_WAIT1...) or as a RST it sent (tcp:tcp_send_reset).
//
// The event comes when the kernel ends the connection, whether or not its program ever
// closes the socket (the sock_diag destroy groups, the fallback, speak only at the free).
//
// Who owns a connection is known only in the owner's own context: connect() moves it to
// SYN_SENT; an accepted one is first read or written by its owner. Both are remembered
// per socket until it closes, with the time it was established; the close itself often
// runs in a timer or softirq, where the current task is whoever happened to be running.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tcp_death_record.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define IPPROTO_TCP 6
#define RCV_SHUTDOWN 1
#define SILENCE_UNKNOWN 0xffffffffu

// The kernel's HZ, for the jiffies of the idle clock (libbpf reads it from the kernel's
// config; the loader says so when the kernel does not publish its config).
extern unsigned int CONFIG_HZ __kconfig __weak;

// Events the ring buffer had no room for: counted, never lost silently. Read by the
// loader through the skeleton's mapped .bss.
__u64 lost_events = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20);  // 8 MiB: 58,000 records, seconds of a mass death
} deaths SEC(".maps");

struct owner {
  __u64 born_ns;
  __u32 pid;
  __u8 name[16];
  __u8 reset_sent;
};

// Per socket, from its SYN_SENT or accept() to its CLOSE. LRU: a socket freed without
// passing CLOSE (never connected) must not fill the map.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1 << 18);
  __type(key, __u64);  // the struct sock's address
  __type(value, struct owner);
} owners SEC(".maps");

static __u64 key_of(const struct sock* sk) {
  return (__u64)(unsigned long)sk;
}

static __u64 socket_inode(const struct sock* sk) {
  const struct socket* file_socket = BPF_CORE_READ(sk, sk_socket);
  if (!file_socket) return 0;
  const struct socket_alloc* alloc = container_of(file_socket, struct socket_alloc, socket);
  return BPF_CORE_READ(alloc, vfs_inode.i_ino);
}

static __u64 cgroup_id_of(const struct sock* sk) {
  const struct cgroup* cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
  if (!cgroup) return 0;
  return BPF_CORE_READ(cgroup, kn, id);
}

// Remembers the calling process as the owner of `sk` (connect(): a new entry).
static void remember_owner(const struct sock* sk) {
  const __u64 key = key_of(sk);
  struct owner fresh = {};
  fresh.pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(fresh.name, sizeof(fresh.name));
  bpf_map_update_elem(&owners, &key, &fresh, BPF_ANY);
}

static int is_connection_state(int state) {
  // The states of a connection that was established: the ends of a handshake that
  // never finished (SYN_SENT, SYN_RECV) are connect() failures, not deaths.
  return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
         state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

// Jiffies since the peer's last segment: the later of the last data and the last ACK
// (a keepalive probe's answer is an ACK).
static __u32 silent_ms(const struct tcp_sock* tp) {
  if (CONFIG_HZ == 0) return SILENCE_UNKNOWN;
  const __u32 now = (__u32)bpf_jiffies64();
  const __u32 last_ack = BPF_CORE_READ(tp, rcv_tstamp);
  const __u32 last_data = BPF_CORE_READ(tp, inet_conn.icsk_ack.lrcvtime);
  const __u32 last = (__s32)(last_data - last_ack) > 0 ? last_data : last_ack;
  return (__u32)((__u64)(now - last) * 1000 / CONFIG_HZ);
}

static void copy_addresses(struct tcp_death_record* record, const struct sock* sk) {
  if (record->family == AF_INET) {
    bpf_probe_read_kernel(record->local_address, 4, &sk->__sk_common.skc_rcv_saddr);
    bpf_probe_read_kernel(record->remote_address, 4, &sk->__sk_common.skc_daddr);
  } else {
    bpf_probe_read_kernel(record->local_address, 16, &sk->__sk_common.skc_v6_rcv_saddr);
    bpf_probe_read_kernel(record->remote_address, 16, &sk->__sk_common.skc_v6_daddr);
  }
}

static void report_death(const struct sock* sk, int old_state) {
  struct tcp_death_record* record = bpf_ringbuf_reserve(&deaths, sizeof(*record), 0);
  if (!record) {
    __sync_fetch_and_add(&lost_events, 1);
    return;
  }
  const struct tcp_sock* tp = (const struct tcp_sock*)sk;
  __builtin_memset(record, 0, sizeof(*record));
  record->time_ns = bpf_ktime_get_ns();
  record->inode = socket_inode(sk);
  record->cgroup_id = cgroup_id_of(sk);
  record->bytes_received = BPF_CORE_READ(tp, bytes_received);
  // Payload sent once (bytes_acked would count the SYN and FIN of an active side too).
  record->bytes_sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
  record->family = BPF_CORE_READ(sk, __sk_common.skc_family);
  copy_addresses(record, sk);
  // Not skc_num: moving to CLOSE has already released the port (inet_put_port zeroes
  // it); the source port the segments carried stays.
  record->local_port = __builtin_bswap16(BPF_CORE_READ((const struct inet_sock*)sk, inet_sport));
  record->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
  record->netns_inode = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  record->error = BPF_CORE_READ(sk, sk_err);
  record->silent_ms = silent_ms(tp);
  record->user_timeout_ms = BPF_CORE_READ(tp, inet_conn.icsk_user_timeout);
  record->total_retransmits = BPF_CORE_READ(tp, total_retrans);
  const __u32 write_seq = BPF_CORE_READ(tp, write_seq);
  const __u32 snd_nxt = BPF_CORE_READ(tp, snd_nxt);
  record->unsent_bytes = write_seq - snd_nxt;
  record->in_flight_bytes = snd_nxt - BPF_CORE_READ(tp, snd_una);
  record->old_state = old_state;
  record->keepalive_on = (BPF_CORE_READ(sk, __sk_common.skc_flags) >> SOCK_KEEPOPEN) & 1;
  record->probes = BPF_CORE_READ(tp, inet_conn.icsk_probes_out);
  record->retransmits = BPF_CORE_READ(tp, inet_conn.icsk_retransmits);
  record->peer_fin = (BPF_CORE_READ(sk, sk_shutdown) & RCV_SHUTDOWN) != 0;

  const __u64 key = key_of(sk);
  const struct owner* owner = bpf_map_lookup_elem(&owners, &key);
  if (owner) {
    record->born_ns = owner->born_ns;
    record->owner_pid = owner->pid;
    __builtin_memcpy(record->owner_name, owner->name, sizeof(record->owner_name));
    record->reset_sent = owner->reset_sent;
  }
  bpf_ringbuf_submit(record, 0);
}

// An accepted connection meets its owner at its first send or receive, or at its close:
// the process that calls recv(), send() or close() on it, in that process's context. (accept()
// itself has no tracepoint, and a kretprobe or fexit on inet_csk_accept needs kprobe events or BPF
// trampolines, which not every kernel has: this one has neither.)
static void claim_for_caller(const struct sock* sk) {
  if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return;
  const __u64 key = key_of(sk);
  struct owner* known = bpf_map_lookup_elem(&owners, &key);
  if (!known || known->pid != 0) return;
  known->pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(known->name, sizeof(known->name));
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state_change, const struct sock* sk, int old_state, int new_state) {
  if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return 0;
  const __u64 key = key_of(sk);
  if (new_state == TCP_SYN_SENT) {
    remember_owner(sk);  // connect(), in its caller's context
  } else if (new_state == TCP_ESTABLISHED) {
    struct owner* known = bpf_map_lookup_elem(&owners, &key);
    if (known) {
      known->born_ns = bpf_ktime_get_ns();
    } else {
      struct owner fresh = {.born_ns = bpf_ktime_get_ns()};
      bpf_map_update_elem(&owners, &key, &fresh, BPF_ANY);
    }
  } else if (new_state == TCP_FIN_WAIT1 || new_state == TCP_LAST_ACK) {
    claim_for_caller(sk);  // close() or shutdown(), by the owner
  } else if (new_state == TCP_CLOSE) {
    // Straight to CLOSE without an error: close() aborting it (unread data, SO_LINGER 0),
    // by the owner. With one, a timer or an arriving segment ended it: no owner here.
    if ((old_state == TCP_ESTABLISHED || old_state == TCP_CLOSE_WAIT) &&
        BPF_CORE_READ(sk, sk_err) == 0) {
      claim_for_caller(sk);
    }
    if (is_connection_state(old_state)) report_death(sk, old_state);
    bpf_map_delete_elem(&owners, &key);
  }
  return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_receive, struct sock* sk) {
  claim_for_caller(sk);
  return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(on_send, const struct sock* sk) {
  claim_for_caller(sk);
  return 0;
}

// This side aborted the connection (close() with unread data, SO_LINGER 0, a RST to a
// segment it did not expect): noted so that the close that follows is told "local".
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_reset_sent, const struct sock* sk) {
  if (!sk) return 0;
  const __u64 key = key_of(sk);
  struct owner* known = bpf_map_lookup_elem(&owners, &key);
  if (known) known->reset_sent = 1;
  return 0;
}
