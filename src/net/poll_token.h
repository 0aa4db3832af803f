// The 64 bits epoll carries for each descriptor, as (what it is, which one): the kind in
// the high half, an index or descriptor in the low half. Every loop decodes the same way.
#pragma once

#include <cstdint>

namespace tcpka::net {

struct PollToken {
  std::uint32_t kind = 0;
  std::uint32_t index = 0;

  constexpr std::uint64_t packed() const { return (std::uint64_t{kind} << 32) | index; }
  static constexpr PollToken unpack(std::uint64_t bits) {
    return {static_cast<std::uint32_t>(bits >> 32), static_cast<std::uint32_t>(bits)};
  }
};

// Reads one readiness event may make from one connection, so that a fast peer cannot
// starve the others on a level-triggered loop.
inline constexpr int kReadsPerReadiness = 16;

}  // namespace tcpka::net
