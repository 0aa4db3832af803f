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

std::string in_force_line(const ResolvedPolicy& p) {
  return fmt::format(
      "SO_KEEPALIVE={}  TCP_KEEPIDLE={}  TCP_KEEPINTVL={}  TCP_KEEPCNT={}  TCP_USER_TIMEOUT={}",
      p.keepalive ? "on" : "off", format_duration(p.idle), format_duration(p.interval), p.count,
      to_string(UserTimeout::fixed(p.user_timeout)));
}

std::string system_line(const SystemDefaults& s) {
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
  text += fmt::format("in force {}\n", in_force_line(report.effective));
  if (report.live) {
    text += fmt::format("read back from a socket connected to {}:\n         {}{}\n",
                        report.live->peer, in_force_line(report.live->in_force),
                        report.live->matches ? "" : "  (DIFFERS from the line above)");
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
    json["live_socket"] = {{"peer", report.live->peer},
                           {"in_force", resolved_json(report.live->in_force)},
                           {"matches", report.live->matches}};
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
