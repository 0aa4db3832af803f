#include "net/heartbeat_frames.h"

#include <cassert>

namespace tcpka::net {
namespace {

constexpr char kPing[] = {0x40, 0x00};
constexpr char kPong[] = {static_cast<char>(0x80), 0x00};

}  // namespace

void append_frame_header(std::string& out, FrameType type, std::size_t payload) {
  assert(type == FrameType::data ? payload >= 1 && payload <= kMaxFramePayload : payload == 0);
  const auto word = static_cast<unsigned>((static_cast<unsigned>(type) << 14) | payload);
  out.push_back(static_cast<char>(word >> 8));
  out.push_back(static_cast<char>(word & 0xffU));
}

void append_data_frames(std::string& out, std::string_view payload) {
  while (!payload.empty()) {
    const std::size_t n = std::min(payload.size(), kMaxFramePayload);
    append_frame_header(out, FrameType::data, n);
    out.append(payload.substr(0, n));
    payload.remove_prefix(n);
  }
}

std::string_view control_frame(FrameType type) {
  assert(type != FrameType::data);
  return type == FrameType::ping ? std::string_view(kPing, 2) : std::string_view(kPong, 2);
}

}  // namespace tcpka::net
