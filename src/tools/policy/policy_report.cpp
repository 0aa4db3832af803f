#include "policy/policy_report.h"

#include <fmt/core.h>

#include <algorithm>

#include "cli/table.h"
#include "tcpka/errno_name.h"

namespace tcpka::tools {
namespace {

constexpr PeerFailure kFailures[] = {PeerFailure::process_exit, PeerFailure::host_silent,
                                     PeerFailure::host_rebooted, PeerFailure::unreachable,
                                     PeerFailure::process_hung};
// The columns of the table; connecting gets a line of its own under it.
constexpr Activity kColumns[] = {Activity::idle, Activity::receiving, Activity::sending,
                                 Activity::window_closed};
constexpr Activity kActivities[] = {Activity::idle, Activity::receiving, Activity::sending,
                                    Activity::window_closed, Activity::connecting};

std::string when(const Detection& d) {
  if (!d.detected) return "never";
  return d.earliest.count() == 0 ? "at once" : format_seconds(d.earliest);
}

std::string cell(const Detection& d) {
  return d.detected ? when(d) + " " + errno_name(d.error) : "never";
}

const Detection& find(const PolicyReport& report, PeerFailure failure, Activity activity) {
  for (const Prediction& p : report.predictions) {
    if (p.failure == failure && p.activity == activity) return p.detection;
  }
  static const Detection kNone;
  return kNone;
}

// One line in the platform's own option names; "?" for a field that cannot be read.
std::string in_force_line(const PolicyReading& p) {
  const PolicyLimits& names = platform_limits();
  const auto or_unknown = [](const auto& field, auto text) {
    return field ? text(*field) : std::string("?");
  };
  return fmt::format(
      "SO_KEEPALIVE={}  {}={}  {}={}  {}={}  {}={}",
      or_unknown(p.keepalive, [](bool on) { return std::string(on ? "on" : "off"); }),
      names.idle_option, or_unknown(p.idle, format_duration), names.interval_option,
      or_unknown(p.interval, format_duration), names.count_option,
      or_unknown(p.count, [](int count) { return std::to_string(count); }),
      names.user_timeout_option,
      or_unknown(p.user_timeout, [](Millis ut) { return to_string(UserTimeout::fixed(ut)); }));
}

PolicyReading as_reading(const ResolvedPolicy& p) {
  return {p.keepalive, p.idle, p.interval, p.count, p.user_timeout, ""};
}

// How the live socket got its settings, where that is not one option per field.
std::string mechanism_note(const Applied& applied) {
  if (applied.mechanism == KeepaliveMechanism::socket_options) return "";
  std::string note = "set through SIO_KEEPALIVE_VALS";
  if (applied.fixed_count) {
    note += fmt::format("; the count is the system's ({}), not the policy's", *applied.fixed_count);
  }
  if (applied.adapted_interval) {
    note +=
        fmt::format("; interval {} to keep the total", format_duration(*applied.adapted_interval));
  }
  return note;
}

std::string windows_system_line(const SystemDefaults& s) {
  std::string line = fmt::format(
      "KeepAliveTime={}  KeepAliveInterval={}  probes={} (fixed without TCP_KEEPCNT)\n"
      "         TcpMaxDataRetransmissions={}  TcpMaxConnectRetransmissions={}  RTO {}..{}",
      format_duration(s.keepalive_time), format_duration(s.keepalive_interval), s.keepalive_probes,
      s.retries2, s.syn_retries, format_seconds(s.rto_min), format_seconds(s.rto_max));
  for (const std::string& name : s.not_present) {
    line +=
        fmt::format("\n         ({} is not in the registry: the documented default is used)", name);
  }
  return line;
}

std::string system_line(const SystemDefaults& s) {
  if (s.stack == TcpStack::windows) return windows_system_line(s);
  std::string line = fmt::format(
      "tcp_keepalive_time={}  tcp_keepalive_intvl={}  tcp_keepalive_probes={}\n"
      "         tcp_retries2={}  tcp_syn_retries={}  tcp_syn_linear_timeouts={}  RTO {}..{}",
      format_duration(s.keepalive_time), format_duration(s.keepalive_interval), s.keepalive_probes,
      s.retries2, s.syn_retries, s.syn_linear_timeouts, format_seconds(s.rto_min),
      format_seconds(s.rto_max));
  for (const std::string& name : s.not_present) {
    line += fmt::format("\n         ({} is not in this kernel: its built-in value is used)", name);
  }
  return line;
}

void append_explanations(const PolicyReport& report, std::string& text) {
  text += "\nHow each is found (times count from the event named):\n";
  for (const Prediction& p : report.predictions) {
    const Detection& d = p.detection;
    if (d.detected) {
      std::string counts;
      if (d.probes > 0) counts += fmt::format(", {} probes", d.probes);
      if (d.retransmissions > 0) counts += fmt::format(", {} retransmissions", d.retransmissions);
      text +=
          fmt::format("  {}, {}: {}..{} after {}, {} ({}{})\n", describe(p.failure),
                      describe(p.activity), format_seconds(d.earliest), format_seconds(d.latest),
                      describe(d.origin), errno_name(d.error), to_string(d.cause), counts);
    } else {
      text += fmt::format("  {}, {}: never\n", describe(p.failure), describe(p.activity));
    }
    text += fmt::format("      {}\n", d.explanation);
  }
}

}  // namespace

bool reading_matches(const PolicyReading& reading, const ResolvedPolicy& effective) {
  const auto agrees = [](const auto& field, const auto& expected) {
    return !field || *field == expected;
  };
  return agrees(reading.keepalive, effective.keepalive) && agrees(reading.idle, effective.idle) &&
         agrees(reading.interval, effective.interval) && agrees(reading.count, effective.count) &&
         agrees(reading.user_timeout, effective.user_timeout);
}

PolicyReport make_policy_report(const Policy& asked, const ResolvedPolicy& effective,
                                const SystemDefaults& system, const PathFacts& path) {
  PolicyReport report{asked, effective, system, path, std::nullopt, {}, {}};
  for (PeerFailure failure : kFailures) {
    for (Activity activity : kActivities) {
      report.predictions.push_back(
          {failure, activity, predict(failure, activity, effective, system, path)});
    }
  }
  report.warnings = policy_warnings(asked, system);
  return report;
}

std::string render_text(const PolicyReport& report, bool explain) {
  std::string text;
  text += fmt::format("policy   {}\n", to_string(report.asked));
  text += fmt::format("in force {}\n", in_force_line(as_reading(report.effective)));
  if (report.live) {
    const LiveSocket& live = *report.live;
    text += fmt::format("read back from a socket connected to {}:\n         {}{}\n", live.peer,
                        in_force_line(live.read_back),
                        live.matches ? "" : "  (DIFFERS from the line above)");
    if (!live.read_back.unreadable.empty()) {
      text += fmt::format("         (? cannot be read back: {})\n", live.read_back.unreadable);
    }
    if (const std::string note = mechanism_note(live.applied); !note.empty()) {
      text += fmt::format("         ({})\n", note);
    }
  }
  text += fmt::format("host     {}\n", system_line(report.system));

  text += "\nWhen the peer fails, the application learns it after:\n";
  TextTable table({"peer", "idle", "receiving", "sending", "peer's window shut"});
  // A column's times count from what its crashed-host cell counts from; a cell that
  // counts from something else is marked and explained under the table.
  std::vector<Origin> footnotes;
  for (PeerFailure failure : kFailures) {
    std::vector<std::string> row{std::string(describe(failure))};
    for (Activity activity : kColumns) {
      const Detection& d = find(report, failure, activity);
      const Origin column_origin = find(report, PeerFailure::host_silent, activity).origin;
      std::string shown = cell(d);
      if (d.detected && d.earliest.count() > 0 && d.origin != column_origin) {
        shown += "*";
        if (std::find(footnotes.begin(), footnotes.end(), d.origin) == footnotes.end()) {
          footnotes.push_back(d.origin);
        }
      }
      row.push_back(std::move(shown));
    }
    table.add_row(std::move(row));
  }
  text += table.render();
  for (Origin origin : footnotes)
    text += fmt::format("* counted from {}\n", describe(origin));
  TextTable connecting({"connect() to", "a silent host", "an unreachable host", "a closed port"});
  connecting.add_row({"", cell(find(report, PeerFailure::host_silent, Activity::connecting)),
                      cell(find(report, PeerFailure::unreachable, Activity::connecting)),
                      cell(find(report, PeerFailure::process_exit, Activity::connecting))});
  text += "\n" + connecting.render();

  if (explain) append_explanations(report, text);
  if (!report.warnings.empty()) text += "\n";
  for (const PolicyWarning& warning : report.warnings) {
    text += fmt::format("warning: {}\n", warning.message);
  }
  return text;
}

namespace {

nlohmann::json resolved_json(const ResolvedPolicy& p) {
  return {{"keepalive", p.keepalive},
          {"idle_ms", p.idle.count()},
          {"interval_ms", p.interval.count()},
          {"count", p.count},
          {"user_timeout_ms", p.user_timeout.count()},
          {"text", to_string(p)}};
}

// A field that cannot be read back is null.
nlohmann::json reading_json(const PolicyReading& p) {
  const auto or_null = [](const auto& field, auto value) -> nlohmann::json {
    if (!field) return nullptr;
    return value(*field);
  };
  const auto ms = [](Millis m) { return m.count(); };
  return {{"keepalive", or_null(p.keepalive, [](bool on) { return on; })},
          {"idle_ms", or_null(p.idle, ms)},
          {"interval_ms", or_null(p.interval, ms)},
          {"count", or_null(p.count, [](int count) { return count; })},
          {"user_timeout_ms", or_null(p.user_timeout, ms)},
          {"unreadable", p.unreadable}};
}

nlohmann::json system_json(const SystemDefaults& s) {
  return {{"tcp_keepalive_time_ms", s.keepalive_time.count()},
          {"tcp_keepalive_intvl_ms", s.keepalive_interval.count()},
          {"tcp_keepalive_probes", s.keepalive_probes},
          {"tcp_retries2", s.retries2},
          {"tcp_syn_retries", s.syn_retries},
          {"tcp_syn_linear_timeouts", s.syn_linear_timeouts},
          {"rto_min_ms", s.rto_min.count()},
          {"rto_max_ms", s.rto_max.count()},
          {"rto_initial_ms", s.rto_initial.count()},
          {"not_present", s.not_present}};
}

nlohmann::json prediction_json(const Prediction& p) {
  const Detection& d = p.detection;
  nlohmann::json json{{"failure", to_string(p.failure)},
                      {"activity", to_string(p.activity)},
                      {"detected", d.detected},
                      {"explanation", d.explanation}};
  if (d.detected) {
    json["earliest_ms"] = d.earliest.count();
    json["latest_ms"] = d.latest.count();
    json["errno"] = errno_name(d.error);
    json["cause"] = to_string(d.cause);
    json["probes"] = d.probes;
    json["retransmissions"] = d.retransmissions;
    json["from"] = describe(d.origin);
  }
  return json;
}

}  // namespace

nlohmann::json render_json(const PolicyReport& report) {
  nlohmann::json json;
  json["policy"] = to_string(report.asked);
  json["effective"] = resolved_json(report.effective);
  json["system"] = system_json(report.system);
  json["rtt_ms"] = report.path.rtt.count();
  if (report.live) {
    const LiveSocket& live = *report.live;
    json["live_socket"] = {
        {"peer", live.peer},
        {"read_back", reading_json(live.read_back)},
        {"mechanism", live.applied.mechanism == KeepaliveMechanism::socket_options
                          ? "socket_options"
                          : "SIO_KEEPALIVE_VALS"},
        {"matches", live.matches}};
    if (live.applied.fixed_count) json["live_socket"]["fixed_count"] = *live.applied.fixed_count;
    if (live.applied.adapted_interval) {
      json["live_socket"]["adapted_interval_ms"] = live.applied.adapted_interval->count();
    }
  }
  json["predictions"] = nlohmann::json::array();
  for (const Prediction& p : report.predictions)
    json["predictions"].push_back(prediction_json(p));
  json["warnings"] = nlohmann::json::array();
  for (const PolicyWarning& w : report.warnings) {
    json["warnings"].push_back({{"id", w.id}, {"message", w.message}});
  }
  return json;
}

}  // namespace tcpka::tools
