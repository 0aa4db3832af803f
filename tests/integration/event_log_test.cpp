// The event log on a real pipe: a reader that stops reading must not stall the loops
// that log, nor keep the program from exiting, and what is dropped is counted.
#include "cli/event_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>

#include "net/unique_fd.h"

namespace tcpka::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  net::UniqueFd read_end;
  net::UniqueFd write_end;

  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = net::UniqueFd(fds[0]);
    write_end = net::UniqueFd(fds[1]);
  }

  std::string read_all_available() const {
    EXPECT_EQ(::fcntl(read_end.get(), F_SETFL, O_NONBLOCK), 0);
    std::string text;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(read_end.get(), buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<std::size_t>(n));
    return text;
  }
};

TEST(EventLog, WritesWholeLinesInOrder) {
  Pipe pipe;
  {
    EventLog log(LogFormat::human, pipe.write_end.get());
    log.write("one\ntwo\n");
    log.write("");
    log.write("three\n");
    EXPECT_EQ(log.flush(Millis(2'000)), 0u);
  }
  EXPECT_EQ(pipe.read_all_available(), "one\ntwo\nthree\n");
}

TEST(EventLog, AReaderThatStopsReadingStallsNobody) {
  Pipe pipe;  // nobody reads it until the end: 64 KiB fill it
  EventLog log(LogFormat::human, pipe.write_end.get());
  const std::string line = std::string(99, 'x') + "\n";
  std::string batch;
  for (int i = 0; i < 1'000; ++i)
    batch += line;  // 100 KB per batch
  // Nobody reads the pipe until the end, so a write() or a flush() that waited for the
  // reader would wait forever: the upper bounds are safety nets, not speed claims (40 MB
  // took 7 s here once, under ctest -j16 beside stress-ng on two cores).
  const auto start = Clock::now();
  for (int i = 0; i < 400; ++i)
    log.write(batch);  // 40 MB: more than the pipe and the backlog hold
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30)) << "write() must never wait";

  const auto flush_start = Clock::now();
  const std::uint64_t dropped = log.flush(Millis(300));
  const auto flush_took = Clock::now() - flush_start;
  EXPECT_GE(flush_took, std::chrono::milliseconds(300)) << "it waited for the reader";
  EXPECT_LT(flush_took, std::chrono::seconds(30)) << "but not past its deadline";
  // The pipe took what fits, whole lines only, with a note where lines went missing;
  // every other line is counted, not silently lost.
  std::istringstream received(pipe.read_all_available());
  std::uint64_t lines_received = 0;
  for (std::string got; std::getline(received, got);) {
    if (got + "\n" == line) {
      ++lines_received;
    } else {
      EXPECT_EQ(got.rfind("log: ", 0), 0u) << "a cut or foreign line: " << got;
    }
  }
  EXPECT_GT(lines_received, 0u);
  EXPECT_EQ(lines_received + dropped, 400'000u);
  log.write("late\n");  // after flush: dropped, and no crash
}

TEST(EventLog, ReportsDropsOnceTheStreamMovesAgain) {
  Pipe pipe;
  EventLog log(LogFormat::json, pipe.write_end.get());
  const std::string big(EventLog::kMaxBacklog + 1, '\n');  // never fits: all dropped
  log.write(big);
  log.write("{\"event\":\"after\"}\n");
  log.flush(Millis(2'000));
  const std::string received = pipe.read_all_available();
  EXPECT_NE(received.find("{\"event\":\"after\"}"), std::string::npos) << received;
  EXPECT_NE(received.find("\"event\":\"log_dropped\""), std::string::npos) << received;
}

}  // namespace
}  // namespace tcpka::tools
