// The lab's packet reading: frames parsed from bytes, each packet's role in its
// connection, tcpdump's rendering, and what counts as a measurement within the model.
#include <gtest/gtest.h>

#include <vector>

#include "lab/scenario.h"
#include "lab/trace.h"
#include "net/captured_packet.h"

namespace tcpka::tools::lab {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// Ethernet + IPv4 + a 20-byte TCP header, from 198.19.0.2:port_a to 198.18.0.2:port_b,
// claiming `payload` bytes of data that the capture cut off.
Bytes ipv4_tcp(std::uint16_t from, std::uint16_t to, std::uint32_t seq, std::uint32_t ack,
               std::uint8_t flags, std::uint16_t payload) {
  Bytes b(14 + 20 + 20, 0);
  put16(b, 12, 0x0800);
  b[14] = 0x45;
  put16(b, 16, static_cast<std::uint16_t>(40 + payload));
  b[23] = 6;  // TCP
  const std::uint8_t source[4] = {198, 19, 0, 2};
  const std::uint8_t destination[4] = {198, 18, 0, 2};
  std::copy(source, source + 4, b.begin() + 26);
  std::copy(destination, destination + 4, b.begin() + 30);
  put16(b, 34, from);
  put16(b, 36, to);
  put32(b, 38, seq);
  put32(b, 42, ack);
  b[46] = 0x50;
  b[47] = flags;
  put16(b, 48, 502);
  return b;
}

net::CapturedPacket parsed(const Bytes& frame, std::int64_t time_us = 0) {
  auto packet = net::parse_ethernet_frame(frame, time_us);
  EXPECT_TRUE(packet.has_value());
  return packet.value_or(net::CapturedPacket{});
}

TEST(CapturedPacket, ReadsTcpHeadersAndTheLengthSent) {
  const net::CapturedPacket p =
      parsed(ipv4_tcp(41000, 7001, 1000, 2000, net::kAck | net::kPsh, 1448));
  EXPECT_EQ(p.kind, net::CapturedPacket::kTcp);
  EXPECT_EQ(net::to_string(p.source), "198.19.0.2:41000");
  EXPECT_EQ(net::to_string(p.destination), "198.18.0.2:7001");
  EXPECT_EQ(p.seq, 1000u);
  EXPECT_EQ(p.ack, 2000u);
  EXPECT_EQ(p.window, 502);
  EXPECT_EQ(p.payload, 1448u) << "from the IP header, not the bytes captured";
}

TEST(CapturedPacket, RefusesWhatItCannotRead) {
  EXPECT_FALSE(net::parse_ethernet_frame(Bytes(10, 0), 0));
  Bytes arp = ipv4_tcp(1, 2, 0, 0, 0, 0);
  put16(arp, 12, 0x0806);
  EXPECT_FALSE(net::parse_ethernet_frame(arp, 0));
  Bytes cut = ipv4_tcp(1, 2, 0, 0, 0, 0);
  cut.resize(14 + 20 + 10);
  EXPECT_FALSE(net::parse_ethernet_frame(cut, 0));
}

// Found by fuzz/captured_packet_fuzzer: the IP version was taken from the header alone,
// so an IPv4 EtherType over an IPv6 header made an "IPv4" packet with IPv6 addresses.
TEST(CapturedPacket, RefusesAnIpHeaderItsEtherTypeDoesNotName) {
  Bytes v6_under_v4 = ipv4_tcp(1, 2, 0, 0, 0, 0);
  v6_under_v4[14] = 0x60;
  v6_under_v4.resize(14 + 40 + 20);
  EXPECT_FALSE(net::parse_ethernet_frame(v6_under_v4, 0));
  Bytes v4_under_v6 = ipv4_tcp(1, 2, 0, 0, 0, 0);
  put16(v4_under_v6, 12, 0x86dd);
  EXPECT_FALSE(net::parse_ethernet_frame(v4_under_v6, 0));
  // ICMP's types are IPv4's, ICMPv6's IPv6's: type 3 in ICMPv6 is not "unreachable".
  Bytes icmp6_in_v4 = ipv4_tcp(1, 2, 0, 0, 0, 0);
  icmp6_in_v4[23] = 58;
  EXPECT_FALSE(net::parse_ethernet_frame(icmp6_in_v4, 0));
  Bytes icmp_in_v4 = icmp6_in_v4;
  icmp_in_v4[23] = 1;
  EXPECT_TRUE(net::parse_ethernet_frame(icmp_in_v4, 0));
}

TEST(Trace, TellsProbesAnswersAndRetransmissions) {
  // Client 41000 -> server 7001: handshake, one byte, then the server's keepalive probe
  // and the client's answer, then data and its retransmission.
  const std::vector<Bytes> frames = {
      ipv4_tcp(41000, 7001, 100, 0, net::kSyn, 0),
      ipv4_tcp(7001, 41000, 500, 101, net::kSyn | net::kAck, 0),
      ipv4_tcp(41000, 7001, 101, 501, net::kAck, 0),
      ipv4_tcp(41000, 7001, 101, 501, net::kAck | net::kPsh, 1),
      ipv4_tcp(7001, 41000, 501, 102, net::kAck, 0),
      ipv4_tcp(7001, 41000, 500, 102, net::kAck, 0),  // seq = snd_nxt - 1: a probe
      ipv4_tcp(41000, 7001, 102, 501, net::kAck, 0),
      ipv4_tcp(7001, 41000, 501, 102, net::kAck | net::kPsh, 100),
      ipv4_tcp(7001, 41000, 501, 102, net::kAck | net::kPsh, 100),
      ipv4_tcp(7001, 41000, 601, 102, net::kRst | net::kAck, 0),
  };
  std::vector<net::CapturedPacket> packets;
  for (const Bytes& frame : frames)
    packets.push_back(parsed(frame));
  // The test builds IPv4 frames from the client's address only; swap for the server's.
  for (auto& p : packets) {
    if (p.source.port == 7001) std::swap(p.source.ip, p.destination.ip);
  }
  const std::vector<TracedPacket> traced = trace(packets);
  const std::vector<PacketRole> roles = {
      PacketRole::handshake,    PacketRole::handshake, PacketRole::ack,
      PacketRole::data,         PacketRole::ack,       PacketRole::probe,
      PacketRole::probe_answer, PacketRole::data,      PacketRole::retransmission,
      PacketRole::reset};
  ASSERT_EQ(traced.size(), roles.size());
  for (std::size_t i = 0; i < roles.size(); ++i)
    EXPECT_EQ(traced[i].role, roles[i]) << "packet " << i << ": " << format_tcpdump(traced[i]);
  EXPECT_EQ(traced[5].relative_seq, 0u) << "a keepalive probe shows as seq 0, as in tcpdump";
  EXPECT_EQ(traced[5].relative_ack, 2u);
}

TEST(Trace, PrintsLikeTcpdump) {
  std::vector<net::CapturedPacket> packets = {
      parsed(ipv4_tcp(41000, 7001, 100, 0, net::kSyn, 0), 1'700'000'000'123'456),
      parsed(ipv4_tcp(41000, 7001, 101, 501, net::kAck | net::kPsh, 5), 1'700'000'000'223'456),
  };
  const auto traced = trace(packets);
  EXPECT_EQ(format_tcpdump(traced[0]),
            "22:13:20.123456 IP 198.19.0.2.41000 > 198.18.0.2.7001: Flags [S], seq 100, win "
            "502, length 0");
  EXPECT_EQ(format_tcpdump(traced[1]),
            "22:13:20.223456 IP 198.19.0.2.41000 > 198.18.0.2.7001: Flags [P.], seq 1:6, ack "
            "501, win 502, length 5");
}

TEST(Conforms, AMeasurementMustFallInsideTheIntervalWithTheErrno) {
  Expectation e;
  e.kind = Expectation::detected;
  e.detection.detected = true;
  e.detection.earliest = Millis(5'000);
  e.detection.latest = Millis(5'675);
  e.detection.error = std::make_error_code(std::errc::timed_out);
  Measurement m;
  m.kind = Measurement::ended;
  m.error = std::make_error_code(std::errc::timed_out);
  m.after = Millis(5'080);
  EXPECT_TRUE(conforms(e, m));
  m.after = Millis(4'990);
  EXPECT_FALSE(conforms(e, m)) << "earlier than the kernel can";
  m.after = Millis(5'700);
  EXPECT_FALSE(conforms(e, m)) << "later than the tolerance";
  m.after = Millis(5'080);
  m.error = std::make_error_code(std::errc::host_unreachable);
  EXPECT_FALSE(conforms(e, m)) << "the wrong errno";
  m.kind = Measurement::still_open;
  EXPECT_FALSE(conforms(e, m));
  e.kind = Expectation::never;
  EXPECT_TRUE(conforms(e, m));
  m.kind = Measurement::interrupted;
  EXPECT_FALSE(conforms(e, m)) << "an interrupted run proves nothing";
}

}  // namespace
}  // namespace tcpka::tools::lab
