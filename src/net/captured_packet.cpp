#include "net/captured_packet.h"

#include <netinet/in.h>

#include <algorithm>

namespace tcpka::net {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kIpv6Header = 40;
constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint8_t kIcmpUnreachable = 3;
constexpr std::uint8_t kIcmp6Unreachable = 1;

// Big-endian reads from a span that the caller has checked is long enough.
std::uint16_t u16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t u32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

// IPv4 addresses are kept IPv4-mapped, as CompactAddress does.
CompactAddress ipv4(std::span<const std::uint8_t> b, std::size_t at, std::uint16_t port) {
  CompactAddress address;
  address.ip[10] = 0xff;
  address.ip[11] = 0xff;
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), 4, address.ip.begin() + 12);
  address.port = port;
  return address;
}
CompactAddress ipv6(std::span<const std::uint8_t> b, std::size_t at, std::uint16_t port) {
  CompactAddress address;
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), 16, address.ip.begin());
  address.port = port;
  return address;
}

// An IP packet's addresses, protocol and payload.
struct IpPacket {
  CompactAddress source;
  CompactAddress destination;
  std::uint8_t protocol = 0;
  std::span<const std::uint8_t> payload;  // as captured: may be cut short
  std::size_t payload_length = 0;         // as sent, from the IP header
  bool v6 = false;
};

// `version`: what the layer below says the packet is (an EtherType, an ICMP type). A
// header of the other version under it is a malformed packet, not a find: tcpdump calls
// it a wrong link-layer encapsulation.
std::optional<IpPacket> parse_ip(std::span<const std::uint8_t> b, int version) {
  if (b.empty() || b[0] >> 4 != version) return std::nullopt;
  if (version == 4) {
    const std::size_t header = std::size_t{b[0] & 0x0fU} * 4;
    if (header < 20 || b.size() < header) return std::nullopt;
    const std::size_t sent = u16(b, 2);
    const std::size_t total = std::min<std::size_t>(sent, b.size());
    if (total < header || sent < header) return std::nullopt;
    return IpPacket{ipv4(b, 12, 0), ipv4(b, 16, 0), b[9], b.subspan(header, total - header),
                    sent - header,  false};
  }
  if (version == 6) {
    if (b.size() < kIpv6Header) return std::nullopt;
    const std::size_t sent = u16(b, 4);
    const std::size_t total = std::min<std::size_t>(kIpv6Header + sent, b.size());
    // Extension headers do not occur in the lab's traffic; such packets are skipped.
    return IpPacket{ipv6(b, 8, 0), ipv6(b, 24, 0),
                    b[6],          b.subspan(kIpv6Header, total - kIpv6Header),
                    sent,          true};
  }
  return std::nullopt;
}

bool parse_tcp(const IpPacket& ip, CapturedPacket& packet) {
  const auto b = ip.payload;
  if (b.size() < 20) return false;
  const std::size_t header = static_cast<std::size_t>(b[12] >> 4) * 4;
  if (header < 20 || b.size() < header) return false;
  packet.kind = CapturedPacket::kTcp;
  packet.source = ip.source;
  packet.source.port = u16(b, 0);
  packet.destination = ip.destination;
  packet.destination.port = u16(b, 2);
  packet.seq = u32(b, 4);
  packet.ack = u32(b, 8);
  packet.flags = b[13] & 0x3fU;
  packet.window = u16(b, 14);
  // The capture keeps only the headers: the length is what the IP header says was sent.
  packet.payload =
      static_cast<std::uint32_t>(ip.payload_length > header ? ip.payload_length - header : 0);
  return true;
}

bool parse_icmp(const IpPacket& ip, CapturedPacket& packet) {
  const auto b = ip.payload;
  if (b.size() < 8) return false;
  packet.source = ip.source;
  packet.destination = ip.destination;
  packet.icmp_type = b[0];
  packet.icmp_code = b[1];
  packet.icmp_v6 = ip.v6;
  const bool unreachable = ip.v6 ? b[0] == kIcmp6Unreachable : b[0] == kIcmpUnreachable;
  packet.kind = unreachable ? CapturedPacket::kIcmpUnreachable : CapturedPacket::kOtherIcmp;
  if (!unreachable) return true;
  // The quoted packet: its IP header and the first 8 bytes of its TCP header.
  auto quoted = parse_ip(b.subspan(8), ip.v6 ? 6 : 4);
  if (quoted && quoted->protocol == IPPROTO_TCP && quoted->payload.size() >= 8) {
    packet.quoted_source = quoted->source;
    packet.quoted_source.port = u16(quoted->payload, 0);
    packet.quoted_destination = quoted->destination;
    packet.quoted_destination.port = u16(quoted->payload, 2);
    packet.quoted_seq = u32(quoted->payload, 4);
  }
  return true;
}

}  // namespace

std::optional<CapturedPacket> parse_ethernet_frame(std::span<const std::uint8_t> frame,
                                                   std::int64_t time_us) {
  if (frame.size() < kEthernetHeader) return std::nullopt;
  const std::uint16_t type = u16(frame, 12);
  if (type != kEtherIpv4 && type != kEtherIpv6) return std::nullopt;
  auto ip = parse_ip(frame.subspan(kEthernetHeader), type == kEtherIpv4 ? 4 : 6);
  if (!ip) return std::nullopt;
  CapturedPacket packet;
  packet.time_us = time_us;
  // ICMP is IPv4's, ICMPv6 IPv6's: their types are numbered differently.
  const int icmp = ip->v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
  const bool parsed = ip->protocol == IPPROTO_TCP ? parse_tcp(*ip, packet)
                      : ip->protocol == icmp      ? parse_icmp(*ip, packet)
                                                  : false;
  if (!parsed) return std::nullopt;
  return packet;
}

}  // namespace tcpka::net
