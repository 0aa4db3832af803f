#include "cli/close_event.h"

#include <fmt/core.h>

#include <ctime>
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

// "2026-12-02T15:04:05.123Z"
std::string utc(std::chrono::system_clock::time_point at) {
  const auto milliseconds = std::chrono::floor<std::chrono::milliseconds>(at);
  const std::time_t seconds = std::chrono::system_clock::to_time_t(milliseconds);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", parts.tm_year + 1900,
                     parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                     (milliseconds.time_since_epoch() % std::chrono::seconds(1)).count());
}

std::string human(const CloseEvent& e) {
  std::string line = fmt::format("close {} local {} after {} in {}B out {}B cause {}", e.peer,
                                 e.local, e.duration ? format_seconds(*e.duration) : "?",
                                 e.bytes_in, e.bytes_out, to_string(e.cause));
  if (e.error) line += " errno " + errno_name(e.error);
  if (e.since_last_received) line += " silent " + format_seconds(*e.since_last_received);
  if (e.probes) line += fmt::format(" probes {}", *e.probes);
  if (e.retransmits) line += fmt::format(" retrans {}", *e.retransmits);
  if (e.at) line += " at " + utc(*e.at);
  if (e.pid != 0) line += fmt::format(" pid {} ({})", e.pid, e.process);
  if (!e.cgroup.empty()) line += " cgroup " + e.cgroup;
  return line + "\n";
}

std::string json(const CloseEvent& e) {
  nlohmann::json line{{"event", "close"},
                      {"peer", e.peer},
                      {"local", e.local},
                      {"duration_ms", e.duration ? nlohmann::json(e.duration->count()) : nullptr},
                      {"bytes_in", e.bytes_in},
                      {"bytes_out", e.bytes_out},
                      {"cause", to_string(e.cause)},
                      {"errno", e.error ? nlohmann::json(errno_name(e.error)) : nullptr}};
  line["since_last_received_ms"] =
      e.since_last_received ? nlohmann::json(e.since_last_received->count()) : nullptr;
  line["probes"] = e.probes ? nlohmann::json(*e.probes) : nullptr;
  line["retransmits"] = e.retransmits ? nlohmann::json(*e.retransmits) : nullptr;
  if (e.at) line["time"] = utc(*e.at);
  if (e.pid != 0) {
    line["pid"] = e.pid;
    line["process"] = e.process;
  }
  if (!e.cgroup.empty()) line["cgroup"] = e.cgroup;
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
