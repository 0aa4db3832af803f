// SPDX-License-Identifier: GPL-2.0
// An iterator over the TCP sockets of one network namespace (`iter/tcp`, Linux 5.9+):
// for each full socket it writes one `struct tcp_settings_record` with the keepalive and
// user-timeout fields the kernel holds. getsockopt can read them only through the owner's
// descriptor and sock_diag not at all; here they are read for every socket at once,
// owned by any process or by none.
//
// Fields are read with CO-RE (BPF_CORE_READ), so the object built against this machine's
// BTF loads on other kernels whose structures moved.
// vmlinux.h first: libbpf's headers use the kernel's types it defines.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tcp_settings_record.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

// The inode of the socket's file, as /proc/PID/fd and sock_diag show it; 0 for a socket
// no file holds any more (closed by its program, still in FIN_WAIT or LAST_ACK).
static __u64 socket_inode(const struct sock* sk) {
  const struct socket* file_socket = BPF_CORE_READ(sk, sk_socket);
  if (!file_socket) return 0;
  const struct socket_alloc* alloc = container_of(file_socket, struct socket_alloc, socket);
  return BPF_CORE_READ(alloc, vfs_inode.i_ino);
}

static void copy_address(__u8 destination[16], const void* source, __u32 size) {
  bpf_probe_read_kernel(destination, size, source);
}

SEC("iter/tcp")
int read_tcp_settings(struct bpf_iter__tcp* ctx) {
  struct sock_common* common = ctx->sk_common;
  if (!common) return 0;  // the end of the walk
  // Time-wait and request sockets have no keepalive of their own: only full sockets.
  struct tcp_sock* tp = bpf_skc_to_tcp_sock(common);
  if (!tp) return 0;
  const struct sock* sk = &tp->inet_conn.icsk_inet.sk;
  const struct net* net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

  struct tcp_settings_record record = {};
  record.cookie = (__u64)BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  record.inode = socket_inode(sk);
  record.family = BPF_CORE_READ(sk, __sk_common.skc_family);
  record.state = BPF_CORE_READ(sk, __sk_common.skc_state);
  record.local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  record.remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (record.family == 2 /* AF_INET */) {
    copy_address(record.local_address, &common->skc_rcv_saddr, 4);
    copy_address(record.remote_address, &common->skc_daddr, 4);
  } else {
    copy_address(record.local_address, &common->skc_v6_rcv_saddr, 16);
    copy_address(record.remote_address, &common->skc_v6_daddr, 16);
  }
  const unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
  record.keepalive_on = (flags >> SOCK_KEEPOPEN) & 1;
  record.keepalive_time = BPF_CORE_READ(tp, keepalive_time);
  record.keepalive_interval = BPF_CORE_READ(tp, keepalive_intvl);
  record.keepalive_probes = BPF_CORE_READ(tp, keepalive_probes);
  record.user_timeout_ms = BPF_CORE_READ(tp, inet_conn.icsk_user_timeout);
  record.namespace_keepalive_time = BPF_CORE_READ(net, ipv4.sysctl_tcp_keepalive_time);
  record.namespace_keepalive_interval = BPF_CORE_READ(net, ipv4.sysctl_tcp_keepalive_intvl);
  record.namespace_keepalive_probes = BPF_CORE_READ(net, ipv4.sysctl_tcp_keepalive_probes);
  bpf_seq_write(ctx->meta->seq, &record, sizeof(record));
  return 0;
}
