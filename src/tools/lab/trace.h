// What each captured packet of a connection is (a keepalive probe, its answer, a
// retransmission, ...) and how tcpdump would print it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/captured_packet.h"

namespace tcpka::tools::lab {

enum class PacketRole {
  handshake,       // SYN, SYN-ACK
  data,            // new bytes
  retransmission,  // bytes sent before
  ack,             // nothing but an acknowledgment
  probe,           // zero bytes at snd_una - 1: a keepalive or zero-window probe
  probe_answer,    // the acknowledgment a probe draws
  fin,
  reset,
  icmp_unreachable,
  other,
};

std::string_view to_string(PacketRole role);

struct TracedPacket {
  net::CapturedPacket packet;
  PacketRole role = PacketRole::other;
  // Sequence numbers relative to each side's initial one, as tcpdump shows them.
  std::uint32_t relative_seq = 0;
  std::uint32_t relative_ack = 0;
  bool relative = false;  // false for a SYN, and for packets seen before any SYN
};

// Follows one connection's packets in capture order (both directions, one link).
std::vector<TracedPacket> trace(std::span<const net::CapturedPacket> packets);

// "04:17:01.123456 IP 198.18.0.2.7001 > 198.19.0.2.45678: Flags [.], seq 0, ack 1, win
// 502, length 0", as tcpdump prints it by default (times in UTC).
std::string format_tcpdump(const TracedPacket& traced);

}  // namespace tcpka::tools::lab
