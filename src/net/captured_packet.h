// A captured frame reduced to what a TCP trace shows: who sent what to whom, and when.
// Parsing is separate from capturing so that it can be tested on bytes alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/compact_address.h"

namespace tcpka::net {

// TCP header flag bits, as on the wire.
enum TcpFlag : std::uint8_t {
  kFin = 0x01,
  kSyn = 0x02,
  kRst = 0x04,
  kPsh = 0x08,
  kAck = 0x10,
  kUrg = 0x20,
};

struct CapturedPacket {
  enum Kind : std::uint8_t { kTcp, kIcmpUnreachable, kOtherIcmp };

  std::int64_t time_us = 0;  // when it was captured, microseconds since the epoch
  Kind kind = kTcp;
  CompactAddress source;       // for ICMP: the router that sent it (port 0)
  CompactAddress destination;  // for ICMP: whom it was sent to (port 0)
  // TCP
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  std::uint32_t payload = 0;  // bytes of data
  // ICMP: its type and code, and for an unreachable the TCP connection it quotes.
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
  bool icmp_v6 = false;
  CompactAddress quoted_source;
  CompactAddress quoted_destination;
  std::uint32_t quoted_seq = 0;
};

// Parses an Ethernet frame (IPv4 or IPv6 carrying TCP or ICMP). Empty for anything else
// or anything cut short.
std::optional<CapturedPacket> parse_ethernet_frame(std::span<const std::uint8_t> frame,
                                                   std::int64_t time_us);

}  // namespace tcpka::net
