// One record of src/bpf/tcp_deaths.bpf.c's ring buffer: a TCP connection that the
// kernel has just moved to CLOSE, with what it held at that moment. Shared by the BPF
// program and the C++ reader, so fixed-size types only, every field naturally aligned
// and no padding the two compilers could place differently.
#ifndef TCPKA_BPF_TCP_DEATH_RECORD_H
#define TCPKA_BPF_TCP_DEATH_RECORD_H

#include "record_types.h"

// NOLINTNEXTLINE(readability-identifier-naming): a C struct, named as the BPF side names
struct tcp_death_record {
  tcpka_u64 time_ns;    // when it closed (bpf_ktime_get_ns: CLOCK_MONOTONIC)
  tcpka_u64 born_ns;    // when it was established; 0 if before the program was loaded
  tcpka_u64 inode;      // its file's inode; 0 once its program has closed it
  tcpka_u64 cgroup_id;  // the cgroup v2 id of the process that made it; 0 if none
  tcpka_u64 bytes_received;
  tcpka_u64 bytes_sent;         // payload bytes sent, each once (retransmissions not counted)
  tcpka_u8 local_address[16];   // IPv4: the first 4 bytes
  tcpka_u8 remote_address[16];  // IPv4: the first 4 bytes
  tcpka_u8 owner_name[16];      // the owner's comm; empty if not known
  tcpka_u32 owner_pid;          // the process that connected or accepted it; 0 if not known
  tcpka_u32 netns_inode;        // its network namespace (/proc/PID/ns/net)
  tcpka_s32 error;              // sk_err at the close: ETIMEDOUT, ECONNRESET... 0 for none
  tcpka_u32 silent_ms;          // since the peer's last segment; 0xffffffff if not known
  tcpka_u32 user_timeout_ms;    // TCP_USER_TIMEOUT; 0: none
  tcpka_u32 total_retransmits;  // over the connection's life
  tcpka_u32 unsent_bytes;       // queued and never sent (write_seq - snd_nxt)
  tcpka_u32 in_flight_bytes;    // sent and never acknowledged (snd_nxt - snd_una)
  tcpka_u16 local_port;         // host byte order
  tcpka_u16 remote_port;        // host byte order
  tcpka_u8 family;              // AF_INET or AF_INET6
  tcpka_u8 old_state;           // the state it left for CLOSE (TCP_ESTABLISHED...)
  tcpka_u8 keepalive_on;        // SO_KEEPALIVE
  tcpka_u8 probes;              // keepalive or window probes out (icsk_probes_out)
  tcpka_u8 retransmits;         // retransmissions in a row (icsk_retransmits)
  tcpka_u8 peer_fin;            // the peer's FIN had arrived (RCV_SHUTDOWN)
  tcpka_u8 reset_sent;          // this side sent a RST on it (tcp:tcp_send_reset)
  tcpka_u8 padding;
};

#endif
