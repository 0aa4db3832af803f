#include "cli/close_event.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "tcpka/errno_name.h"

namespace tcpka::tools {

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "human") return LogFormat::human;
  if (text == "json") return LogFormat::json;
  if (text == "none") return LogFormat::none;
  return std::nullopt;
}

namespace {

std::string human(const CloseEvent& e) {
  std::string line =
      fmt::format("close {} local {} after {} in {}B out {}B cause {}", e.peer, e.local,
                  format_seconds(e.duration), e.bytes_in, e.bytes_out, to_string(e.cause));
  if (e.error) line += " errno " + errno_name(e.error);
  if (e.since_last_received) line += " silent " + format_seconds(*e.since_last_received);
  if (e.probes) line += fmt::format(" probes {}", *e.probes);
  if (e.retransmits) line += fmt::format(" retrans {}", *e.retransmits);
  return line + "\n";
}

std::string json(const CloseEvent& e) {
  nlohmann::json line{{"event", "close"},
                      {"peer", e.peer},
                      {"local", e.local},
                      {"duration_ms", e.duration.count()},
                      {"bytes_in", e.bytes_in},
                      {"bytes_out", e.bytes_out},
                      {"cause", to_string(e.cause)},
                      {"errno", e.error ? nlohmann::json(errno_name(e.error)) : nullptr}};
  line["since_last_received_ms"] =
      e.since_last_received ? nlohmann::json(e.since_last_received->count()) : nullptr;
  line["probes"] = e.probes ? nlohmann::json(*e.probes) : nullptr;
  line["retransmits"] = e.retransmits ? nlohmann::json(*e.retransmits) : nullptr;
  return line.dump() + "\n";
}

}  // namespace

std::string format_close_event(const CloseEvent& event, LogFormat format) {
  switch (format) {
    case LogFormat::human:
      return human(event);
    case LogFormat::json:
      return json(event);
    case LogFormat::none:
      return "";
  }
  return "";
}

}  // namespace tcpka::tools
