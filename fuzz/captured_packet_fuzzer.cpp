// parse_ethernet_frame on any bytes, as libpcap hands a frame over: it never reads past
// the frame, and what it makes of one agrees with the frame's own header.
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/captured_packet.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::net::CapturedPacket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> frame(data, size);
  const std::int64_t time_us = 1'700'000'000'123'456;
  const auto packet = tcpka::net::parse_ethernet_frame(frame, time_us);
  if (!packet) return 0;
  // Read by hand: 14 bytes of Ethernet header, then IPv4 (0x0800) or IPv6 (0x86dd).
  require(size >= 14 + 20, "only a frame with an IP header is read");
  const bool v4 = data[12] == 0x08 && data[13] == 0x00;
  require(v4 || (data[12] == 0x86 && data[13] == 0xdd), "only IPv4 and IPv6 are read");
  require(packet->time_us == time_us, "the capture time is kept");
  if (v4) {
    require(packet->source.is_ipv4() && packet->destination.is_ipv4(),
            "IPv4 addresses are kept IPv4-mapped");
  }
  switch (packet->kind) {
    case CapturedPacket::kTcp:
      require((packet->flags & ~0x3fU) == 0, "TCP flags are the six classic bits");
      require(packet->payload <= 65535, "a length from a 16-bit field");
      break;
    case CapturedPacket::kIcmpUnreachable:
    case CapturedPacket::kOtherIcmp:
      require(packet->source.port == 0 && packet->destination.port == 0, "ICMP has no ports");
      break;
  }
  return 0;
}
