// The line tcpka prints when a connection ends, the same for serve, connect and the lab.
#pragma once

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
  Millis duration{0};
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  CloseCause cause = CloseCause::unknown;
  std::error_code error;                      // empty: none (or end of file)
  std::optional<Millis> since_last_received;  // silence before the end
  std::optional<int> probes;                  // keepalive or window probes (TCP_INFO)
  std::optional<std::uint32_t> retransmits;   // over the connection's life (TCP_INFO)
};

enum class LogFormat { human, json, none };

// "human", "json", "none"; empty for anything else.
std::optional<LogFormat> parse_log_format(std::string_view text);

// One line, with its newline:
//   close 127.0.0.1:51234 local 127.0.0.1:7001 after 12.503s in 5B out 5B
//     cause keepalive_timeout errno ETIMEDOUT silent 12.002s probes 5 retrans 0
std::string format_close_event(const CloseEvent& event, LogFormat format);

}  // namespace tcpka::tools
