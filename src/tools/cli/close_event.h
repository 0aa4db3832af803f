// The line tcpka prints when a connection ends, the same for serve, connect and the lab.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "tcpka/close_cause.h"
#include "tcpka/duration.h"

namespace tcpka::tools {

struct CloseEvent {
  std::string peer;
  std::string local;
  std::optional<Millis> duration;  // since it was established; empty: not known
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  CloseCause cause = CloseCause::unknown;
  std::error_code error;                      // empty: none (or end of file)
  std::optional<Millis> since_last_received;  // silence before the end
  std::optional<int> probes;                  // keepalive or window probes (TCP_INFO)
  std::optional<std::uint32_t> retransmits;   // over the connection's life (TCP_INFO)
  // What a host-wide watcher adds (tcpka watch); serve and connect leave them empty.
  std::optional<std::chrono::system_clock::time_point> at;  // when it ended
  pid_t pid = 0;                                            // its owner; 0: not known
  std::string process;                                      // the owner's name
  std::string cgroup;                                       // the owner's cgroup v2 path
};

enum class LogFormat { human, json, none };

// "human", "json", "none"; empty for anything else.
std::optional<LogFormat> parse_log_format(std::string_view text);

// One line, with its newline:
//   close 127.0.0.1:51234 local 127.0.0.1:7001 after 12.503s in 5B out 5B
//     cause keepalive_timeout errno ETIMEDOUT silent 12.002s probes 5 retrans 0
// and, from tcpka watch, " at 2026-12-02T15:04:05.123Z pid 812 (nginx) cgroup /x.service"
// (an unknown duration reads "after ?").
std::string format_close_event(const CloseEvent& event, LogFormat format);

}  // namespace tcpka::tools
