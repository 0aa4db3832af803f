// One record of the `iter/tcp` program in tcp_settings.bpf.c, as the iterator's reader
// receives it: the layout is shared by the BPF program and the C++ reader, so it uses
// fixed-size types only and no padding the two compilers could place differently.
#ifndef TCPKA_BPF_TCP_SETTINGS_RECORD_H
#define TCPKA_BPF_TCP_SETTINGS_RECORD_H

#include "record_types.h"

// NOLINTNEXTLINE(readability-identifier-naming): a C struct, named as the BPF side names
struct tcp_settings_record {
  tcpka_u64 cookie;  // the socket's cookie (sock_diag's idiag_cookie), 0 if none asked yet
  tcpka_u64 inode;   // its file's inode (/proc/PID/fd), 0 if no file holds it
  tcpka_u8 local_address[16];   // IPv4: the first 4 bytes
  tcpka_u8 remote_address[16];  // IPv4: the first 4 bytes
  tcpka_u16 local_port;         // host byte order
  tcpka_u16 remote_port;        // host byte order
  tcpka_u8 family;              // AF_INET or AF_INET6
  tcpka_u8 state;               // TCP_ESTABLISHED...
  tcpka_u8 keepalive_on;        // SO_KEEPALIVE (SOCK_KEEPOPEN)
  tcpka_u8 keepalive_probes;    // TCP_KEEPCNT; 0: the namespace's tcp_keepalive_probes
  // In jiffies; 0: the namespace's sysctl. The reader finds the kernel's HZ from the
  // namespace values below and /proc/sys, which says the same in seconds.
  tcpka_u32 keepalive_time;
  tcpka_u32 keepalive_interval;
  tcpka_u32 user_timeout_ms;               // TCP_USER_TIMEOUT; 0: none
  tcpka_u32 namespace_keepalive_time;      // net.ipv4.tcp_keepalive_time, in jiffies
  tcpka_u32 namespace_keepalive_interval;  // net.ipv4.tcp_keepalive_intvl, in jiffies
  tcpka_u32 namespace_keepalive_probes;    // net.ipv4.tcp_keepalive_probes
};

#endif
