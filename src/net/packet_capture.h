// Capturing a link's TCP and ICMP packets with libpcap, as tcpdump would, from inside
// the network namespace the link is in. Non-blocking: the owner polls fd().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/captured_packet.h"
#include "net/net_namespace.h"
#include "tcpka/result.h"

struct pcap;

namespace tcpka::net {

class PacketCapture {
 public:
  // Starts capturing on `link` of `ns`: only headers, delivered at once (no buffering
  // delay), TCP and ICMP destination-unreachable only.
  static Result<PacketCapture> open(const NetNamespace& ns, const std::string& link);

  // Readable when packets wait.
  int fd() const;
  // Appends every packet captured so far to `out`.
  void take(std::vector<CapturedPacket>& out);

 private:
  struct Closer {
    void operator()(pcap* handle) const;
  };
  explicit PacketCapture(std::unique_ptr<pcap, Closer> handle) : handle_(std::move(handle)) {}

  std::unique_ptr<pcap, Closer> handle_;
};

}  // namespace tcpka::net
