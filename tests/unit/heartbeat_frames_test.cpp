#include "net/heartbeat_frames.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpka::net {
namespace {

// What a reader saw: the data bytes joined, and the heartbeats as "P" and "O" in the
// places they came between data.
struct Seen {
  std::string data;
  std::string events;  // "D" for each data call, "P" ping, "O" pong
  FrameStatus status = FrameStatus::ok;
};

Seen read_in_pieces(const std::string& stream, std::size_t piece) {
  FrameReader reader;
  Seen seen;
  for (std::size_t at = 0; at < stream.size() && seen.status == FrameStatus::ok; at += piece) {
    seen.status = read_frames(
        reader, std::string_view(stream).substr(at, piece),
        [&](std::string_view bytes) {
          EXPECT_FALSE(bytes.empty());
          seen.data += bytes;
          seen.events += 'D';
        },
        [&] { seen.events += 'P'; }, [&] { seen.events += 'O'; });
  }
  return seen;
}

std::string data_frame(std::string_view payload) {
  std::string out;
  append_data_frames(out, payload);
  return out;
}

TEST(HeartbeatFrames, AHeaderIsTypeAndLengthInTwoBytes) {
  std::string out;
  append_frame_header(out, FrameType::data, 300);
  EXPECT_EQ(out, std::string("\x01\x2c", 2));
  EXPECT_EQ(control_frame(FrameType::ping), std::string("\x40\x00", 2));
  EXPECT_EQ(control_frame(FrameType::pong), std::string("\x80\x00", 2));
}

TEST(HeartbeatFrames, LongPayloadsBecomeSeveralDataFrames) {
  const std::string payload(kMaxFramePayload + 10, 'x');
  const std::string frames = data_frame(payload);
  EXPECT_EQ(frames.size(), payload.size() + 2 * kFrameHeaderSize);
  EXPECT_EQ(read_in_pieces(frames, frames.size()).data, frames);
}

// Data comes out as it went in, headers included, and heartbeats in their places,
// however the stream is cut: one byte at a time, across headers, in big reads.
TEST(HeartbeatFrames, ReadsTheSameStreamHoweverItIsCut) {
  std::string stream = data_frame("hello");
  stream += control_frame(FrameType::ping);
  stream += data_frame(std::string(1'000, 'a'));
  stream += control_frame(FrameType::pong);
  stream += control_frame(FrameType::ping);
  stream += data_frame("!");
  const std::string data =
      data_frame("hello") + data_frame(std::string(1'000, 'a')) + data_frame("!");
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{4096}}) {
    const Seen seen = read_in_pieces(stream, piece);
    EXPECT_EQ(seen.status, FrameStatus::ok) << piece;
    EXPECT_EQ(seen.data, data) << piece;
    std::string heartbeats;
    for (char e : seen.events) {
      if (e != 'D') heartbeats += e;
    }
    EXPECT_EQ(heartbeats, "POP") << piece;
  }
  // In one read, each run of data between heartbeats is one call.
  EXPECT_EQ(read_in_pieces(stream, stream.size()).events, "DPDOPD");
}

TEST(HeartbeatFrames, KnowsWhenItIsBetweenFrames) {
  FrameReader reader;
  const auto ignore = [](auto&&...) {};
  const std::string frame = data_frame("abc");
  EXPECT_TRUE(reader.at_boundary());
  ASSERT_EQ(read_frames(reader, std::string_view(frame).substr(0, 1), ignore, ignore, ignore),
            FrameStatus::ok);
  EXPECT_FALSE(reader.at_boundary());  // half a header
  ASSERT_EQ(read_frames(reader, std::string_view(frame).substr(1, 3), ignore, ignore, ignore),
            FrameStatus::ok);
  EXPECT_FALSE(reader.at_boundary());  // one payload byte to come
  ASSERT_EQ(read_frames(reader, std::string_view(frame).substr(4), ignore, ignore, ignore),
            FrameStatus::ok);
  EXPECT_TRUE(reader.at_boundary());
}

TEST(HeartbeatFrames, RefusesWhatIsNotThisProtocol) {
  const std::string cases[] = {
      std::string("\xc0\x00", 2),   // type 11
      std::string("\x00\x00", 2),   // an empty data frame
      std::string("\x40\x01x", 3),  // a ping with a payload
      "GET / HTTP/1.1\r\n",         // 'G' is 01...: a ping with a length
  };
  for (const std::string& bytes : cases) {
    EXPECT_EQ(read_in_pieces(bytes, bytes.size()).status, FrameStatus::malformed) << bytes;
    EXPECT_EQ(read_in_pieces(bytes, 1).status, FrameStatus::malformed) << bytes;
  }
  // Data before the bad header is handed over first.
  const std::string stream = data_frame("ok") + std::string("\xc0\x00", 2);
  const Seen seen = read_in_pieces(stream, stream.size());
  EXPECT_EQ(seen.status, FrameStatus::malformed);
  EXPECT_EQ(seen.data, data_frame("ok"));
}

}  // namespace
}  // namespace tcpka::net
