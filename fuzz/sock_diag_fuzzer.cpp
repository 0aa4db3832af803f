// A sock_diag dump's reply on any bytes, as recvfrom() would have received them: the
// netlink messages are walked (libmnl) and each inet_diag_msg read without reading past
// what the message says it holds. The input alone is also read as one message's payload.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/sock_diag_reply.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::net::TcpSocketEntry;

namespace {

void check_entry(const TcpSocketEntry& entry) {
  require(entry.timer <= TcpSocketEntry::Timer::zero_window_probe, "a timer the enum has");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libFuzzer's copy of the input is a heap block of its own: aligned as a receive
  // buffer is, and exactly as long as the input, so that ASan sees any read beyond it.
  const auto bytes = std::as_bytes(std::span(data, size));
  std::vector<TcpSocketEntry> entries;
  // The sequence number tcpka's requests carry; any port (0 is not checked).
  auto read = tcpka::net::read_tcp_diag_reply(bytes, 1, 0, entries);
  require(entries.size() <= size / (16 + 72), "at most one entry per message");
  for (const auto& entry : entries)
    check_entry(entry);
  if (!read) require(read.error().code.value() != 0, "a failure has an errno");

  if (auto entry = tcpka::net::parse_tcp_diag_message(bytes)) {
    check_entry(*entry);
    require(size >= 72, "an inet_diag_msg is 72 bytes");
    if (data[0] == AF_INET) require(entry->local.is_ipv4(), "IPv4 kept IPv4-mapped");
  }
  return 0;
}
