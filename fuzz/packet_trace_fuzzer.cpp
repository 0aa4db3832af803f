// The lab's trace on any capture: frames (each a 2-byte big-endian length, then its
// bytes) parsed as libpcap's would be, followed by trace() and printed by
// format_tcpdump. Neither crashes; every packet gets a role and one line.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lab/trace.h"
#include "net/captured_packet.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::tools::lab::PacketRole;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<tcpka::net::CapturedPacket> packets;
  std::span<const std::uint8_t> rest(data, size);
  // A capture's clock: 2023-11-14 22:13:20 UTC, a millisecond and a bit per frame.
  std::int64_t time_us = 1'700'000'000'000'000;
  while (rest.size() >= 2) {
    const std::size_t length = std::min<std::size_t>((rest[0] << 8) | rest[1], rest.size() - 2);
    const auto frame = rest.subspan(2, length);
    rest = rest.subspan(2 + length);
    time_us += 1'037;
    if (auto packet = tcpka::net::parse_ethernet_frame(frame, time_us)) packets.push_back(*packet);
  }
  const auto traced = tcpka::tools::lab::trace(packets);
  require(traced.size() == packets.size(), "one traced packet per packet");
  for (std::size_t i = 0; i < traced.size(); ++i) {
    const auto& t = traced[i];
    require(t.packet.time_us == packets[i].time_us, "in capture order");
    const bool tcp = t.packet.kind == tcpka::net::CapturedPacket::kTcp;
    require(tcp == (t.role != PacketRole::icmp_unreachable && t.role != PacketRole::other),
            "ICMP gets an ICMP role, TCP a TCP one");
    if (tcp && (t.packet.flags & tcpka::net::kSyn) != 0) {
      require(t.role == PacketRole::handshake && !t.relative, "a SYN is the handshake");
    }
    require(!tcpka::tools::lab::to_string(t.role).empty(), "every role has a name");
    const std::string line = tcpka::tools::lab::format_tcpdump(t);
    require(!line.empty() && line.find('\n') == std::string::npos, "one line per packet", line);
  }
  return 0;
}
