#include "lab/trace.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <array>
#include <ctime>
#include <map>

namespace tcpka::tools::lab {
namespace {

// One direction of the connection: its initial sequence number and the highest one it
// has used.
struct Direction {
  bool known = false;
  std::uint32_t initial = 0;
  std::uint32_t next = 0;  // one past the last sequence number sent (snd_nxt)
};

// Sequence comparison modulo 2^32, as TCP does it.
bool before(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}

std::string host_and_port(const net::CompactAddress& address) {
  const net::SocketAddress expanded = net::expand(address);
  char text[INET6_ADDRSTRLEN] = {};
  if (expanded.family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(expanded.get())->sin6_addr, text,
                sizeof(text));
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(expanded.get())->sin_addr, text,
                sizeof(text));
  }
  return address.port == 0 ? std::string(text) : fmt::format("{}.{}", text, address.port);
}

std::string flags_text(std::uint8_t flags) {
  std::string text;
  if ((flags & net::kSyn) != 0) text += 'S';
  if ((flags & net::kFin) != 0) text += 'F';
  if ((flags & net::kRst) != 0) text += 'R';
  if ((flags & net::kPsh) != 0) text += 'P';
  if ((flags & net::kAck) != 0) text += '.';
  return text;
}

std::string clock_time(std::int64_t time_us) {
  const std::time_t seconds = static_cast<std::time_t>(time_us / 1'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", utc.tm_hour, utc.tm_min, utc.tm_sec,
                     time_us % 1'000'000);
}

}  // namespace

std::string_view to_string(PacketRole role) {
  switch (role) {
    case PacketRole::handshake:
      return "handshake";
    case PacketRole::data:
      return "data";
    case PacketRole::retransmission:
      return "retransmission";
    case PacketRole::ack:
      return "ack";
    case PacketRole::probe:
      return "probe";
    case PacketRole::probe_answer:
      return "probe answer";
    case PacketRole::fin:
      return "fin";
    case PacketRole::reset:
      return "reset";
    case PacketRole::icmp_unreachable:
      return "icmp unreachable";
    case PacketRole::other:
      return "other";
  }
  return "other";
}

std::vector<TracedPacket> trace(std::span<const net::CapturedPacket> packets) {
  std::vector<TracedPacket> traced;
  traced.reserve(packets.size());
  // Directions keyed by the sender's address and port.
  std::map<std::pair<std::array<std::uint8_t, 16>, std::uint16_t>, Direction> directions;
  const auto key = [](const net::CompactAddress& a) { return std::pair{a.ip, a.port}; };
  bool probe_pending = false;  // the last segment was a probe, and the next one from the
                               // other side answers it
  net::CompactAddress prober;
  for (const net::CapturedPacket& packet : packets) {
    TracedPacket t{packet};
    if (packet.kind != net::CapturedPacket::kTcp) {
      t.role = packet.kind == net::CapturedPacket::kIcmpUnreachable ? PacketRole::icmp_unreachable
                                                                    : PacketRole::other;
      traced.push_back(t);
      continue;
    }
    Direction& own = directions[key(packet.source)];
    const Direction& far = directions[key(packet.destination)];
    const std::uint32_t length =
        packet.payload + ((packet.flags & (net::kSyn | net::kFin)) != 0 ? 1U : 0U);
    if ((packet.flags & net::kSyn) != 0) {
      own = Direction{true, packet.seq, packet.seq + 1};
      t.role = PacketRole::handshake;
    } else if ((packet.flags & net::kRst) != 0) {
      t.role = PacketRole::reset;
    } else if ((packet.flags & net::kFin) != 0) {
      t.role = PacketRole::fin;
    } else if (packet.payload > 0) {
      t.role =
          own.known && before(packet.seq, own.next) ? PacketRole::retransmission : PacketRole::data;
    } else if (own.known && packet.seq == own.next - 1) {
      t.role = PacketRole::probe;
    } else if (probe_pending && packet.source == prober) {
      t.role = PacketRole::ack;
    } else {
      t.role = probe_pending ? PacketRole::probe_answer : PacketRole::ack;
    }
    probe_pending = t.role == PacketRole::probe;
    if (probe_pending) prober = packet.source;
    if (own.known && before(own.next, packet.seq + length)) own.next = packet.seq + length;
    if (own.known && (packet.flags & net::kSyn) == 0) {
      t.relative = true;
      t.relative_seq = packet.seq - own.initial;
      t.relative_ack = far.known ? packet.ack - far.initial : packet.ack;
    }
    traced.push_back(t);
  }
  return traced;
}

std::string format_tcpdump(const TracedPacket& t) {
  const net::CapturedPacket& p = t.packet;
  const std::string when = clock_time(p.time_us);
  if (p.kind != net::CapturedPacket::kTcp) {
    if (p.icmp_v6) {
      return fmt::format("{} IP6 {} > {}: ICMP6, destination unreachable, unreachable address {}",
                         when, host_and_port(p.source), host_and_port(p.destination),
                         host_and_port({p.quoted_destination.ip, 0}));
    }
    return fmt::format("{} IP {} > {}: ICMP host {} unreachable", when, host_and_port(p.source),
                       host_and_port(p.destination), host_and_port({p.quoted_destination.ip, 0}));
  }
  std::string line =
      fmt::format("{} {} {} > {}: Flags [{}]", when, p.source.is_ipv4() ? "IP" : "IP6",
                  host_and_port(p.source), host_and_port(p.destination), flags_text(p.flags));
  const std::uint32_t seq = t.relative ? t.relative_seq : p.seq;
  // As `tcpdump -v` shows it: every segment with its sequence number, so that a probe
  // (one below what the other side acknowledged) stands out.
  line += p.payload > 0 ? fmt::format(", seq {}:{}", seq, seq + p.payload)
                        : fmt::format(", seq {}", seq);
  if ((p.flags & net::kAck) != 0) {
    line += fmt::format(", ack {}", t.relative ? t.relative_ack : p.ack);
  }
  line += fmt::format(", win {}, length {}", p.window, p.payload);
  return line;
}

}  // namespace tcpka::tools::lab
