// The framed mode of `tcpka serve --heartbeat` and `tcpka connect --heartbeat`
// (docs/heartbeats.md): the byte stream becomes frames, so that heartbeats can travel
// between the echoed bytes.
//
// Each frame starts with a 2-byte header, big-endian: the top two bits are the type, the
// other fourteen the length of what follows.
//   00 data  1..16383 bytes of payload, echoed back frame for frame
//   01 ping  no payload: "answer me" (sent after an interval of hearing nothing)
//   10 pong  no payload: the answer
//   11       not a frame: the peer does not speak this protocol
// Two bytes because a server holding very many connections keeps the reader's state in
// each one's slot: 4 bytes, of which a longer header would need more.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpka::net {

enum class FrameType : std::uint8_t { data = 0, ping = 1, pong = 2 };

inline constexpr std::size_t kFrameHeaderSize = 2;
inline constexpr std::size_t kMaxFramePayload = (std::size_t{1} << 14) - 1;

// Appends one frame's header. Precondition: a data frame's payload is 1..kMaxFramePayload
// bytes, a ping's or pong's none.
void append_frame_header(std::string& out, FrameType type, std::size_t payload);
// Appends `payload` as as many data frames as it needs.
void append_data_frames(std::string& out, std::string_view payload);
// A ping or a pong frame, whole.
std::string_view control_frame(FrameType type);

// Where a reader is in the stream, kept between reads: 4 bytes.
struct FrameReader {
  std::uint16_t payload_left = 0;  // of the current data frame
  std::uint8_t first_header_byte = 0;
  bool holding_header_byte = false;  // a header arrived split: its first byte is held

  // Between frames: what is written out now cannot land inside one.
  bool at_boundary() const { return payload_left == 0 && !holding_header_byte; }
};
static_assert(sizeof(FrameReader) == 4, "a reader costs 4 bytes of a connection's slot");

enum class FrameStatus : std::uint8_t { ok, malformed };

// Walks `bytes`, the next part of the stream. Calls on_data(std::string_view) with the
// bytes of data frames as they came, headers included (an echo sends them back as they
// are), one call per run between heartbeats; calls on_ping() and on_pong() for each
// heartbeat, in stream order. Stops at a malformed header (type 11, an empty data frame,
// a heartbeat with a payload) and says so: nothing after it is trusted.
template <class OnData, class OnPing, class OnPong>
FrameStatus read_frames(FrameReader& reader, std::string_view bytes, OnData&& on_data,
                        OnPing&& on_ping, OnPong&& on_pong) {
  std::size_t run = 0;  // where the data bytes not yet handed to on_data begin
  std::size_t at = 0;
  const auto flush = [&] {
    if (at > run) on_data(bytes.substr(run, at - run));
    run = at;
  };
  while (at < bytes.size()) {
    if (reader.payload_left > 0) {
      const std::size_t n = std::min<std::size_t>(reader.payload_left, bytes.size() - at);
      reader.payload_left = static_cast<std::uint16_t>(reader.payload_left - n);
      at += n;
      continue;
    }
    if (!reader.holding_header_byte && at + 1 == bytes.size()) {
      flush();
      reader.first_header_byte = static_cast<std::uint8_t>(bytes[at]);
      reader.holding_header_byte = true;
      return FrameStatus::ok;
    }
    const bool held = reader.holding_header_byte;
    const auto first = held ? reader.first_header_byte : static_cast<std::uint8_t>(bytes[at]);
    const auto second = static_cast<std::uint8_t>(bytes[held ? at : at + 1]);
    const auto type = static_cast<std::uint8_t>(first >> 6);
    const auto length = static_cast<std::uint16_t>(((first & 0x3fU) << 8) | second);
    const bool heartbeat = type == static_cast<std::uint8_t>(FrameType::ping) ||
                           type == static_cast<std::uint8_t>(FrameType::pong);
    if (type == 3 || (heartbeat && length != 0) || (!heartbeat && length == 0)) {
      flush();
      return FrameStatus::malformed;
    }
    reader.holding_header_byte = false;
    const std::size_t header_here = held ? 1 : kFrameHeaderSize;
    if (!heartbeat) {
      // The held first byte came in an earlier read: it goes out ahead of this run.
      if (held)
        on_data(std::string_view(reinterpret_cast<const char*>(&reader.first_header_byte), 1));
      reader.payload_left = length;
      at += header_here;
      continue;
    }
    flush();
    at += header_here;
    run = at;
    if (type == static_cast<std::uint8_t>(FrameType::ping)) {
      on_ping();
    } else {
      on_pong();
    }
  }
  flush();
  return FrameStatus::ok;
}

}  // namespace tcpka::net
