#include "inspect/inspect_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/table.h"
#include "tcpka/errno_name.h"

namespace tcpka::tools {
namespace {

using host::SurveyedSocket;

const host::ProcessInfo* owner_of(const InspectReport& report, const SurveyedSocket& socket) {
  if (socket.holders.empty()) return nullptr;
  const auto& processes = report.survey->processes.processes;
  const auto it = processes.find(socket.holders.front().pid);
  return it == processes.end() ? nullptr : &it->second;
}

std::string owner_text(const InspectReport& report, const SurveyedSocket& socket) {
  const host::ProcessInfo* owner = owner_of(report, socket);
  if (owner == nullptr) return socket.holders.empty() ? "-" : "?";
  std::string text = fmt::format("{}/{}", owner->pid, owner->command);
  if (socket.holders.size() > 1) text += fmt::format(" +{}", socket.holders.size() - 1);
  return text;
}

// "on 10s/5s/3": idle, interval and count; a * marks a field the socket left to its
// namespace's sysctl.
std::string keepalive_text(const SurveyedSocket& socket, const Assessment& assessment) {
  if (!socket.settings) {
    switch (assessment.keepalive) {
      case KeepaliveKnown::on:
        return "on ?/?/?";
      case KeepaliveKnown::off:
        return "off";
      case KeepaliveKnown::unknown:
        return "?";
    }
  }
  const host::SocketSettings& s = *socket.settings;
  const auto star = [](const std::optional<bool>& from_sysctl) {
    return from_sysctl.value_or(false) ? "*" : "";
  };
  return fmt::format("{} {}{}/{}{}/{}{}", s.policy.keepalive ? "on" : "off",
                     format_duration(s.policy.idle), star(s.idle_from_sysctl),
                     format_duration(s.policy.interval), star(s.interval_from_sysctl),
                     s.policy.count, star(s.count_from_sysctl));
}

std::string user_timeout_text(const SurveyedSocket& socket) {
  if (!socket.settings) return "?";
  const Millis ut = socket.settings->policy.user_timeout;
  return ut.count() == 0 ? "off" : format_duration(ut);
}

std::string detection_text(const std::optional<Detection>& detection) {
  if (!detection) return "-";
  if (!detection->detected) return "never";
  return format_seconds(detection->earliest);
}

std::string flags_text(const Assessment& assessment) {
  std::string text;
  for (const RiskFlag flag : assessment.flags) {
    if (!text.empty()) text += ",";
    text += to_string(flag);
  }
  return text.empty() ? "-" : text;
}

std::string group_of(const InspectReport& report, const SurveyedSocket& socket) {
  const host::ProcessInfo* owner = owner_of(report, socket);
  if (owner == nullptr) return "(no process)";
  if (report.group_by == GroupBy::cgroup) return owner->cgroup.empty() ? "/" : owner->cgroup;
  return fmt::format("{}/{}", owner->pid, owner->command);
}

struct GroupSummary {
  int sockets = 0;
  int established = 0;
  int keepalive_on = 0;
  int keepalive_unknown = 0;
  std::optional<Millis> worst_idle;  // the longest idle detection; nullopt: none known
  bool idle_never = false;           // some established connection is never checked
  std::optional<Millis> worst_in_flight;
  std::map<RiskFlag, int> flags;
};

std::map<std::string, GroupSummary> summarize(const InspectReport& report) {
  std::map<std::string, GroupSummary> groups;
  for (const InspectedSocket& inspected : report.sockets) {
    GroupSummary& group = groups[group_of(report, *inspected.socket)];
    ++group.sockets;
    for (const RiskFlag flag : inspected.assessment.flags)
      ++group.flags[flag];
    if (inspected.socket->entry.state != TcpConnectionState::established) continue;
    ++group.established;
    const Assessment& a = inspected.assessment;
    if (a.keepalive == KeepaliveKnown::on) ++group.keepalive_on;
    if (a.keepalive == KeepaliveKnown::unknown) ++group.keepalive_unknown;
    if (a.keepalive == KeepaliveKnown::off) group.idle_never = true;
    if (a.idle && a.idle->detected) {
      group.worst_idle = std::max(group.worst_idle.value_or(Millis(0)), a.idle->earliest);
    }
    if (a.in_flight && a.in_flight->detected) {
      group.worst_in_flight =
          std::max(group.worst_in_flight.value_or(Millis(0)), a.in_flight->earliest);
    }
  }
  return groups;
}

std::string summary_table(const InspectReport& report) {
  TextTable table({report.group_by == GroupBy::cgroup ? "cgroup" : "process", "sockets",
                   "established", "keepalive", "worst idle", "worst in flight", "flags"});
  for (const auto& [name, group] : summarize(report)) {
    std::string coverage = fmt::format("{}/{}", group.keepalive_on, group.established);
    if (group.keepalive_unknown > 0) coverage += fmt::format(" ({} ?)", group.keepalive_unknown);
    std::string flags;
    for (const auto& [flag, count] : group.flags) {
      if (!flags.empty()) flags += ",";
      flags += fmt::format("{}={}", to_string(flag), count);
    }
    const std::string worst_idle =
        group.idle_never ? "never" : (group.worst_idle ? format_seconds(*group.worst_idle) : "-");
    table.add_row({name, std::to_string(group.sockets), std::to_string(group.established),
                   group.established > 0 ? coverage : "-", worst_idle,
                   group.worst_in_flight ? format_seconds(*group.worst_in_flight) : "-",
                   flags.empty() ? "-" : flags});
  }
  return table.render();
}

std::string reader_lines(const host::Survey& survey) {
  std::string lines = fmt::format("settings read with: {}\n", describe_reader(survey.reader));
  if (!survey.fallback.empty()) lines += fmt::format("  passed over: {}\n", survey.fallback);
  const auto unknown = std::count_if(survey.sockets.begin(), survey.sockets.end(),
                                     [](const SurveyedSocket& s) { return !s.settings; });
  if (unknown > 0 && survey.reader != host::SettingsSource::none) {
    // The most common reason, as an example.
    std::map<std::string, int> reasons;
    for (const SurveyedSocket& s : survey.sockets) {
      if (!s.settings) ++reasons[s.unread];
    }
    const auto most = std::max_element(reasons.begin(), reasons.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    lines += fmt::format("  unknown for {} of {} sockets ({}: {})\n", unknown,
                         survey.sockets.size(), most->second, most->first);
  }
  return lines;
}

}  // namespace

std::string describe_reader(host::SettingsSource source) {
  switch (source) {
    case host::SettingsSource::bpf_iterator:
      return "a BPF iterator over each namespace's TCP sockets (iter/tcp)";
    case host::SettingsSource::pidfd_getfd:
      return "pidfd_getfd() and getsockopt on each owner's descriptor";
    case host::SettingsSource::none:
      break;
  }
  return "nothing: sock_diag's timers only, settings unknown";
}

std::string render_text(const InspectReport& report, bool explain) {
  const host::Survey& survey = *report.survey;
  std::string text = reader_lines(survey);
  if (survey.processes.unreadable > 0) {
    text += fmt::format("owners: {} processes' descriptors could not be read (run as root)\n",
                        survey.processes.unreadable);
  }
  if (survey.unentered_namespaces > 0) {
    text += fmt::format("namespaces: {} could not be entered and are left out (run as root)\n",
                        survey.unentered_namespaces);
  }
  if (report.middlebox) {
    text += fmt::format("middlebox: {} [{}] forgets a flow idle for {}\n",
                        report.middlebox->description, report.middlebox->name,
                        format_duration(report.middlebox->idle_timeout));
  }
  if (report.sockets.empty()) return text + "no TCP sockets match\n";
  text += "\n" + summary_table(report) + "\n";

  TextTable rows({"netns", "process", "fd", "local", "remote", "state", "keepalive", "ut", "via",
                  "idle dead peer", "in flight", "flags"});
  bool any_sysctl = false;
  bool any_enforced = false;
  std::set<RiskFlag> seen;
  for (const InspectedSocket& inspected : report.sockets) {
    const SurveyedSocket& socket = *inspected.socket;
    const net::TcpSocketEntry& entry = socket.entry;
    const std::string keepalive =
        keepalive_text(socket, inspected.assessment) + (inspected.under_enforce ? "+" : "");
    any_sysctl = any_sysctl || keepalive.find('*') != std::string::npos;
    any_enforced = any_enforced || inspected.under_enforce;
    seen.insert(inspected.assessment.flags.begin(), inspected.assessment.flags.end());
    rows.add_row(
        {survey.namespaces[socket.ns].label, owner_text(report, socket),
         socket.holders.empty() ? "-" : std::to_string(socket.holders.front().fd),
         net::to_string(entry.local),
         entry.state == TcpConnectionState::listen ? "*" : net::to_string(entry.remote),
         std::string(to_string(entry.state)), keepalive, user_timeout_text(socket),
         std::string(host::to_string(socket.source)), detection_text(inspected.assessment.idle),
         detection_text(inspected.assessment.in_flight), flags_text(inspected.assessment)});
  }
  text += "\n" + rows.render();
  if (any_sysctl) {
    text += "* the socket left it at 0: its namespace's sysctl (net.ipv4.tcp_keepalive_*)\n";
  }
  if (any_enforced) {
    text +=
        "+ its cgroup is under tcpka enforce: connections it makes or accepts get the "
        "enforced policy (tcpka enforce --list shows pinned ones)\n";
  }
  text +=
      "keepalive: on|off IDLE/INTERVAL/COUNT; idle dead peer, in flight: when a silent "
      "peer is noticed, from its last segment or from the first unanswered send\n";
  if (explain) {
    for (const RiskFlag flag : seen) {
      text += fmt::format("\n{}:\n  {}\n", to_string(flag), tcpka::tools::explain(flag));
    }
  }
  return text;
}

namespace {

nlohmann::json detection_json(const std::optional<Detection>& d) {
  if (!d) return nullptr;
  if (!d->detected) return {{"detected", false}};
  return {{"detected", true},
          {"earliest_ms", d->earliest.count()},
          {"latest_ms", d->latest.count()},
          {"cause", to_string(d->cause)},
          {"error", errno_name(d->error)},
          {"counts_from", describe(d->origin)}};
}

// One socket's object. Rows are written one at a time: a tree of 100,000 of them took
// 1.2 GiB and most of the run's time to build, print and free (bench/RESULTS.md).
nlohmann::json socket_json(const InspectReport& report, const InspectedSocket& inspected) {
  const host::Survey& survey = *report.survey;
  const SurveyedSocket& socket = *inspected.socket;
  const net::TcpSocketEntry& entry = socket.entry;
  nlohmann::json row = {{"netns", survey.namespaces[socket.ns].inode},
                        {"local", net::to_string(entry.local)},
                        {"remote", net::to_string(entry.remote)},
                        {"state", to_string(entry.state)},
                        {"inode", entry.inode},
                        {"cookie", entry.cookie},
                        {"uid", entry.uid}};
  row["owners"] = nlohmann::json::array();
  for (const host::SocketHolder& holder : socket.holders) {
    nlohmann::json owner = {{"pid", holder.pid}, {"fd", holder.fd}};
    const auto& processes = survey.processes.processes;
    if (const auto it = processes.find(holder.pid); it != processes.end()) {
      owner["command"] = it->second.command;
      owner["cgroup"] = it->second.cgroup;
    }
    row["owners"].push_back(owner);
  }
  row["settings_source"] = host::to_string(socket.source);
  row["under_enforce"] = inspected.under_enforce;
  if (socket.settings) {
    const host::SocketSettings& s = *socket.settings;
    row["settings"] = {{"keepalive", s.policy.keepalive},
                       {"idle_ms", s.policy.idle.count()},
                       {"interval_ms", s.policy.interval.count()},
                       {"count", s.policy.count},
                       {"user_timeout_ms", s.policy.user_timeout.count()}};
    if (s.idle_from_sysctl) {
      row["settings"]["from_sysctl"] = {{"idle", *s.idle_from_sysctl},
                                        {"interval", *s.interval_from_sysctl},
                                        {"count", *s.count_from_sysctl}};
    }
  } else {
    row["settings"] = nullptr;
    row["settings_unknown_because"] = socket.unread;
  }
  const KeepaliveKnown known = inspected.assessment.keepalive;
  row["keepalive"] = known == KeepaliveKnown::unknown ? nlohmann::json(nullptr)
                                                      : nlohmann::json(known == KeepaliveKnown::on);
  constexpr const char* kTimers[] = {"none", "retransmit", "keepalive", "time_wait",
                                     "zero_window_probe"};
  row["timer"] = {{"kind", kTimers[static_cast<int>(entry.timer)]},
                  {"expires_ms", entry.timer_expires_ms},
                  {"retransmits", entry.retransmits}};
  if (entry.tcp) {
    const TcpState& t = *entry.tcp;
    const auto field = [](const auto& value) -> nlohmann::json {
      if (!value) return nullptr;
      if constexpr (requires { value->count(); }) {
        return value->count();
      } else {
        return *value;
      }
    };
    row["tcp_info"] = {{"since_data_sent_ms", field(t.since_data_sent)},
                       {"since_data_received_ms", field(t.since_data_received)},
                       {"since_ack_received_ms", field(t.since_ack_received)},
                       {"unacked", field(t.unacked)},
                       {"retransmits", field(t.retransmits)},
                       {"total_retransmits", field(t.total_retransmits)},
                       {"probes", field(t.probes)},
                       {"backoff", field(t.backoff)},
                       {"rtt_us", field(t.rtt)},
                       {"rto_us", field(t.rto)}};
  }
  row["detection"] = {{"idle", detection_json(inspected.assessment.idle)},
                      {"in_flight", detection_json(inspected.assessment.in_flight)}};
  row["flags"] = nlohmann::json::array();
  for (const RiskFlag flag : inspected.assessment.flags)
    row["flags"].push_back(to_string(flag));
  return row;
}

nlohmann::json header_json(const InspectReport& report) {
  const host::Survey& survey = *report.survey;
  nlohmann::json json;
  json["settings_reader"] = host::to_string(survey.reader);
  json["settings_reader_fallback"] = survey.fallback;
  json["unreadable_processes"] = survey.processes.unreadable;
  json["unentered_namespaces"] = survey.unentered_namespaces;
  if (report.middlebox) {
    json["middlebox"] = {{"name", report.middlebox->name},
                         {"idle_timeout_ms", report.middlebox->idle_timeout.count()}};
  }
  json["namespaces"] = nlohmann::json::array();
  for (const host::SurveyedNamespace& ns : survey.namespaces) {
    json["namespaces"].push_back({{"inode", ns.inode},
                                  {"label", ns.label},
                                  {"tcp_keepalive_time_ms", ns.system.keepalive_time.count()},
                                  {"tcp_keepalive_intvl_ms", ns.system.keepalive_interval.count()},
                                  {"tcp_keepalive_probes", ns.system.keepalive_probes},
                                  {"tcp_retries2", ns.system.retries2}});
  }
  return json;
}

}  // namespace

bool print_json(const InspectReport& report, std::FILE* out) {
  const auto write = [out](const std::string& text) {
    return std::fwrite(text.data(), 1, text.size(), out) == text.size();
  };
  // The header's fields, then "sockets" as an array with one socket per line.
  std::string text = header_json(report).dump(2);
  text.resize(text.size() - 2);  // the closing "\n}"
  text += ",\n  \"sockets\": [";
  constexpr std::size_t kFlushAt = 1 << 20;
  const char* separator = "\n    ";
  for (const InspectedSocket& inspected : report.sockets) {
    text += separator;
    text += socket_json(report, inspected).dump();
    separator = ",\n    ";
    if (text.size() >= kFlushAt) {
      if (!write(text)) return false;
      text.clear();
    }
  }
  text += "\n  ]\n}\n";
  return write(text) && std::fflush(out) == 0;
}

}  // namespace tcpka::tools
