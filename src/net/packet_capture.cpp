#include "net/packet_capture.h"

#include <pcap/pcap.h>

#include <span>

namespace tcpka::net {
namespace {

// Enough for Ethernet, IPv6 and a TCP header with options, or an ICMP error with the
// headers it quotes.
constexpr int kSnapLength = 200;
// TCP, and the ICMP errors that can end a TCP connection; not the neighbour discovery
// chatter of ICMPv6 (the lab's packets carry no IPv6 extension headers, so the ICMPv6
// type is the byte after the fixed header).
constexpr const char* kFilter = "tcp or icmp[icmptype] == icmp-unreach or (icmp6 and ip6[40] == 1)";

Error pcap_failure(pcap* handle, const std::string& what) {
  const std::string message = pcap_geterr(handle);
  const bool denied = message.find("ermission") != std::string::npos;
  return errno_error(denied ? EPERM : EIO, what + ": " + message);
}

}  // namespace

void PacketCapture::Closer::operator()(pcap* handle) const {
  pcap_close(handle);
}

Result<PacketCapture> PacketCapture::open(const NetNamespace& ns, const std::string& link) {
  // The packet socket belongs to the namespace it is opened in.
  return inside(ns, [&]() -> Result<PacketCapture> {
    char error[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap, Closer> handle(pcap_create(link.c_str(), error));
    if (!handle) return errno_error(EIO, "pcap_create " + link + ": " + error);
    pcap_set_snaplen(handle.get(), kSnapLength);
    pcap_set_immediate_mode(handle.get(), 1);
    pcap_set_tstamp_precision(handle.get(), PCAP_TSTAMP_PRECISION_MICRO);
    if (pcap_activate(handle.get()) < 0) return pcap_failure(handle.get(), "capture on " + link);
    bpf_program program{};
    if (pcap_compile(handle.get(), &program, kFilter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return pcap_failure(handle.get(), "capture filter");
    }
    const int set = pcap_setfilter(handle.get(), &program);
    pcap_freecode(&program);
    if (set != 0) return pcap_failure(handle.get(), "capture filter");
    if (pcap_setnonblock(handle.get(), 1, error) != 0) {
      return errno_error(EIO, std::string("pcap_setnonblock: ") + error);
    }
    return PacketCapture(std::move(handle));
  });
}

int PacketCapture::fd() const {
  return pcap_get_selectable_fd(handle_.get());
}

void PacketCapture::take(std::vector<CapturedPacket>& out) {
  const auto collect = [](u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
    auto& packets = *reinterpret_cast<std::vector<CapturedPacket>*>(user);
    const std::int64_t time_us =
        std::int64_t{header->ts.tv_sec} * 1'000'000 + std::int64_t{header->ts.tv_usec};
    if (auto packet = parse_ethernet_frame(std::span(bytes, header->caplen), time_us)) {
      packets.push_back(*packet);
    }
  };
  // -1: everything buffered now; non-blocking, so it returns when nothing is left.
  pcap_dispatch(handle_.get(), -1, collect, reinterpret_cast<u_char*>(&out));
}

}  // namespace tcpka::net
