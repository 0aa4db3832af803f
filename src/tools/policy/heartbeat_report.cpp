#include "policy/heartbeat_report.h"

#include <fmt/core.h>

#include "cli/table.h"
#include "tcpka/errno_name.h"

namespace tcpka::tools {
namespace {

constexpr PeerFailure kFailures[] = {PeerFailure::process_exit, PeerFailure::host_silent,
                                     PeerFailure::host_rebooted, PeerFailure::unreachable,
                                     PeerFailure::process_hung};

// The two count from different moments (the kernel from the last segment or the
// failure, the heartbeat from the last application bytes, which come no later): one is
// first only when its whole interval ends before the other's begins. Keepalive has only
// the first interval of silence: then a ping goes out, and the kernel sends no probe
// while data is unacknowledged.
FirstFinder first_of(const Detection& kernel, const Detection& heartbeat,
                     const HeartbeatPolicy& policy) {
  const bool cut_short = kernel.detected && kernel.cause == CloseCause::keepalive_timeout &&
                         heartbeat.detected && kernel.earliest >= policy.interval;
  if (cut_short) return FirstFinder::heartbeat;
  if (!kernel.detected && !heartbeat.detected) return FirstFinder::neither;
  if (!heartbeat.detected) return FirstFinder::kernel;
  if (!kernel.detected) return FirstFinder::heartbeat;
  if (kernel.latest < heartbeat.earliest) return FirstFinder::kernel;
  if (heartbeat.latest < kernel.earliest) return FirstFinder::heartbeat;
  return FirstFinder::either;
}

std::string_view to_string(FirstFinder first) {
  switch (first) {
    case FirstFinder::kernel:
      return "kernel";
    case FirstFinder::heartbeat:
      return "heartbeat";
    case FirstFinder::either:
      return "either";
    case FirstFinder::neither:
      return "neither";
  }
  return "neither";
}

std::string span(const Detection& d) {
  if (!d.detected) return "never";
  if (d.earliest.count() == 0) return "at once " + errno_name(d.error);
  return format_seconds(d.earliest) + ".." + format_seconds(d.latest) + " " + errno_name(d.error);
}

// A heartbeat that times out is the application's own close: it has a cause, no errno.
std::string heartbeat_span(const Detection& d) {
  if (!d.detected) return "-";
  return format_seconds(d.earliest) + ".." + format_seconds(d.latest) + " " +
         (d.error ? errno_name(d.error) : std::string(to_string(d.cause)));
}

nlohmann::json detection_json(const Detection& d) {
  if (!d.detected) return {{"detected", false}, {"explanation", d.explanation}};
  return {{"detected", true},
          {"earliest_ms", d.earliest.count()},
          {"latest_ms", d.latest.count()},
          {"cause", std::string(to_string(d.cause))},
          {"origin", std::string(describe(d.origin))},
          {"explanation", d.explanation}};
}

// What the kernel does about `failure` on an idle connection.
Detection idle_detection(const PolicyReport& kernel, PeerFailure failure) {
  for (const Prediction& p : kernel.predictions) {
    if (p.failure == failure && p.activity == Activity::idle) return p.detection;
  }
  return {};
}

}  // namespace

HeartbeatReport make_heartbeat_report(const HeartbeatPolicy& policy, const PolicyReport& kernel) {
  HeartbeatReport report{policy, heartbeat_tick(policy), {}};
  for (PeerFailure failure : kFailures) {
    HeartbeatRow row{failure, idle_detection(kernel, failure),
                     predict_heartbeat(failure, policy, report.tick, kernel.path)};
    row.first = first_of(row.kernel, row.heartbeat, policy);
    report.rows.push_back(std::move(row));
  }
  return report;
}

std::string render_text(const HeartbeatReport& report) {
  std::string text = fmt::format(
      "\nWith heartbeats {} (a ping after {} of silence; deadlines checked every {}):\n",
      to_string(report.policy), format_duration(report.policy.interval),
      format_duration(report.tick));
  TextTable table({"peer", "heartbeat finds it", "the kernel (idle)", "first"});
  for (const HeartbeatRow& row : report.rows) {
    table.add_row({std::string(describe(row.failure)), heartbeat_span(row.heartbeat),
                   span(row.kernel), std::string(to_string(row.first))});
  }
  text += table.render();
  text += "heartbeat times count from the last bytes from the peer's application\n";
  text += fmt::format(
      "keepalive gets only the first {} of silence: a ping is then in flight, and the kernel "
      "sends no probe while data is unacknowledged (a user timeout bounds that case)\n",
      format_duration(report.policy.interval));
  return text;
}

nlohmann::json render_json(const HeartbeatReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const HeartbeatRow& row : report.rows) {
    rows.push_back({{"failure", std::string(to_string(row.failure))},
                    {"heartbeat", detection_json(row.heartbeat)},
                    {"kernel_idle", detection_json(row.kernel)},
                    {"first", std::string(to_string(row.first))}});
  }
  nlohmann::json policy = {{"text", to_string(report.policy)},
                           {"interval_ms", report.policy.interval.count()}};
  if (report.policy.phi) {
    policy["phi"] = {{"threshold", report.policy.phi->threshold},
                     {"window", report.policy.phi->window},
                     {"min_deviation_ms", report.policy.phi->min_deviation.count()},
                     {"acceptable_pause_ms", report.policy.phi->acceptable_pause.count()}};
  } else {
    policy["timeout_ms"] = report.policy.timeout.count();
  }
  return {{"policy", policy}, {"tick_ms", report.tick.count()}, {"failures", rows}};
}

}  // namespace tcpka::tools
