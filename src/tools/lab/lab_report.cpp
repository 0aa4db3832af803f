#include "lab/lab_report.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "tcpka/errno_name.h"

namespace tcpka::tools::lab {
namespace {

std::string errno_and_cause(std::error_code error, CloseCause cause) {
  return fmt::format("{} {}", error ? errno_name(error) : std::string("EOF"), to_string(cause));
}

std::string expected_kind(Expectation::Kind kind) {
  switch (kind) {
    case Expectation::none:
      return "none";
    case Expectation::detected:
      return "detected";
    case Expectation::beyond_cap:
      return "beyond_cap";
    case Expectation::never:
      return "never";
    case Expectation::survives:
      return "survives";
    case Expectation::breaks_silently:
      return "breaks_silently";
    case Expectation::observe:
      return "observe";
  }
  return "detected";
}

std::string measured_kind(Measurement::Kind kind) {
  switch (kind) {
    case Measurement::ended:
      return "ended";
    case Measurement::dropped:
      return "dropped";
    case Measurement::still_open:
      return "still_open";
    case Measurement::survived:
      return "survived";
    case Measurement::send_vanished:
      return "send_vanished";
    case Measurement::interrupted:
      return "interrupted";
    case Measurement::failed_to_run:
      return "failed_to_run";
  }
  return "failed_to_run";
}

std::string ratio(const ScenarioResult& r) {
  const bool measured =
      r.measured.kind == Measurement::ended || r.measured.kind == Measurement::dropped;
  if (r.expected.kind != Expectation::detected || !measured ||
      r.expected.detection.earliest.count() == 0) {
    return "";
  }
  return fmt::format("{:.3f}", static_cast<double>(r.measured.after.count()) /
                                   static_cast<double>(r.expected.detection.earliest.count()));
}

// What the detector sent after the reference moment: "3 probes", "5 retrans".
std::string on_the_wire(const Measurement& m) {
  std::string text;
  if (m.probes > 0) text = fmt::format("{} probe{}", m.probes, m.probes == 1 ? "" : "s");
  if (m.retransmissions > 0) {
    text += fmt::format("{}{} retrans", text.empty() ? "" : ", ", m.retransmissions);
  }
  return text.empty() ? "-" : text;
}

}  // namespace

std::string who_detects(const ScenarioSpec& spec) {
  return spec.detector == Host::server ? "server" : "client";
}

std::string verdict(const ScenarioResult& r) {
  if (r.measured.kind == Measurement::failed_to_run) return "not run";
  if (r.measured.kind == Measurement::interrupted) return "interrupted";
  if (r.expected.kind == Expectation::observe) return "seen";
  return r.pass ? "ok" : "OUTSIDE";
}

std::string target_settings_text(const ScenarioResult& r) {
  if (!r.target_settings) return "settings " + r.target_settings_source;
  const ResolvedPolicy& p = *r.target_settings;
  std::string text = p.keepalive ? fmt::format("keepalive {}/{}/{}", format_duration(p.idle),
                                               format_duration(p.interval), p.count)
                                 : std::string("keepalive off");
  text += p.user_timeout.count() > 0
              ? fmt::format(", user timeout {}", format_duration(p.user_timeout))
              : std::string(", no user timeout");
  return text + " (read through " + r.target_settings_source + ")";
}

std::string predicted_text(const Expectation& e, Millis cap) {
  const Detection& d = e.detection;
  switch (e.kind) {
    case Expectation::none:
      return "-";
    case Expectation::detected:
      // A heartbeat's end is the application's own: a cause, no errno.
      return fmt::format("{}..{} {}", format_seconds(d.earliest), format_seconds(d.latest),
                         d.error ? errno_name(d.error)
                         : d.cause == CloseCause::heartbeat_timeout
                             ? std::string(to_string(d.cause))
                             : std::string("EOF"));
    case Expectation::beyond_cap:
      return fmt::format("{} {} (beyond the {} wait)", format_seconds(d.earliest),
                         errno_name(d.error), format_duration(cap));
    case Expectation::never:
      return "never";
    case Expectation::survives:
      return "survives";
    case Expectation::breaks_silently:
      return "breaks silently";
    case Expectation::observe:
      return "(not predicted)";
  }
  return "";
}

std::string measured_text(const Measurement& m, Millis cap) {
  switch (m.kind) {
    case Measurement::ended:
      return format_seconds(m.after);
    case Measurement::dropped:
      return "dropped it after " + format_seconds(m.after);
    case Measurement::still_open:
      return fmt::format("not within {}", format_duration(cap));
    case Measurement::survived:
      return "survived";
    case Measurement::send_vanished:
      return "send vanished";
    case Measurement::interrupted:
      return "interrupted";
    case Measurement::failed_to_run:
      return "not run";
  }
  return "";
}

std::string predicted_text(const ScenarioResult& r, Millis cap) {
  if (r.measured.kind == Measurement::failed_to_run) return "-";
  if (const auto& p = r.population; p && r.spec.fault == Fault::lossy_path) {
    return fmt::format("{:.3f}..{:.3f} killed in {}", p->predicted_low, p->predicted,
                       format_seconds(r.spec.window));
  }
  if (r.population) return predicted_text(r.expected, cap) + " each";
  return predicted_text(r.expected, cap);
}

std::string measured_text(const ScenarioResult& r, Millis cap) {
  const auto& p = r.population;
  if (!p || r.measured.kind != Measurement::ended) return measured_text(r.measured, cap);
  if (r.spec.fault == Fault::lossy_path) {
    return fmt::format("{}/{} = {:.3f} ({:g}%: {:.3f}..{:.3f})", p->killed, p->connections,
                       static_cast<double>(p->killed) / p->connections, p->confidence * 100, p->low,
                       p->high);
  }
  return fmt::format("{}/{} inside; p50 {} p99 {} max {}", p->detected_inside, p->dead,
                     format_seconds(p->percentile(0.5)), format_seconds(p->percentile(0.99)),
                     format_seconds(p->percentile(1.0)));
}

namespace {

// The errno/cause column of a population: what ended, and what must not have.
std::string population_why(const ScenarioResult& r) {
  const Population& p = *r.population;
  if (r.spec.fault == Fault::lossy_path) {
    return p.ended_otherwise > 0 ? fmt::format("ETIMEDOUT; {} ended otherwise", p.ended_otherwise)
                                 : std::string("ETIMEDOUT keepalive_timeout");
  }
  return fmt::format("{} of {} healthy closed", p.healthy_closed, p.connections - p.dead);
}

}  // namespace

std::string render_table(std::span<const ScenarioResult> results, Millis cap) {
  TextTable table({"scenario", "detects", "predicted", "measured", "ratio", "errno/cause",
                   "on the wire", "verdict"});
  int as_predicted = 0;
  int outside = 0;
  int not_run = 0;
  int watched = 0;
  for (const ScenarioResult& r : results) {
    const bool black_box = !r.spec.target.empty();
    const bool ran = r.measured.kind != Measurement::failed_to_run;
    // The heartbeat rows' server is the lab's own tcpka serve, run as a black box.
    const std::string detects = r.spec.heartbeat ? "tcpka serve"
                                : black_box      ? "your server"
                                                 : who_detects(r.spec);
    // A black box's errno is its own; what shows from outside is its keepalive timer.
    std::string why = r.population && ran ? population_why(r)
                      : r.measured.kind == Measurement::ended
                          ? errno_and_cause(r.measured.error, r.measured.cause)
                      : black_box && ran ? r.measured.note
                                         : std::string();
    // A scenario that did not run has no prediction worth showing: it may have stopped
    // before the lab knew what the detector held.
    table.add_row({r.spec.title(), detects, predicted_text(r, cap), measured_text(r, cap),
                   ran && !r.population ? ratio(r) : "", std::move(why),
                   ran && !r.population ? on_the_wire(r.measured) : "-", verdict(r)});
    if (!ran) {
      ++not_run;
    } else if (r.expected.kind == Expectation::observe) {
      ++watched;
    } else if (r.pass) {
      ++as_predicted;
    } else {
      ++outside;
    }
  }
  std::string text = table.render();
  std::string settings_said;
  for (const ScenarioResult& r : results) {
    if (r.spec.target.empty() || r.spec.heartbeat ||
        r.measured.kind == Measurement::failed_to_run) {
      continue;
    }
    const std::string settings = target_settings_text(r);
    if (settings == settings_said) continue;
    text += fmt::format("{}: your server's socket: {}\n", r.spec.title(), settings);
    settings_said = settings;
  }
  for (const ScenarioResult& r : results) {
    if (r.measured.kind != Measurement::failed_to_run) continue;
    text += fmt::format("{}: not run: {}\n", r.spec.title(), r.measured.note);
    for (const std::string& line : r.target_output)
      text += fmt::format("  target| {}\n", line);
  }
  if (as_predicted == static_cast<int>(results.size())) {
    text += fmt::format("all {} measurements as predicted\n", results.size());
    return text;
  }
  std::string summary =
      fmt::format("{} of {} measurements as predicted", as_predicted, results.size());
  if (outside > 0) summary += fmt::format(", {} outside the prediction", outside);
  if (not_run > 0) summary += fmt::format(", {} not run", not_run);
  if (watched > 0) {
    summary +=
        fmt::format(", {} watched without a prediction (the server's settings unread)", watched);
  }
  return text + summary + "\n";
}

std::string render_json(std::span<const ScenarioResult> results, Millis cap) {
  nlohmann::json scenarios = nlohmann::json::array();
  bool all_pass = true;
  for (const ScenarioResult& r : results) {
    const Detection& d = r.expected.detection;
    nlohmann::json expected{{"kind", expected_kind(r.expected.kind)}};
    if (r.expected.kind == Expectation::detected || r.expected.kind == Expectation::beyond_cap) {
      expected["earliest_ms"] = d.earliest.count();
      expected["latest_ms"] = d.latest.count();
      expected["errno"] = d.error ? errno_name(d.error) : "EOF";
      expected["cause"] = to_string(d.cause);
      expected["from"] = describe(d.origin);
      expected["explanation"] = d.explanation;
    } else {
      expected["why"] = r.expected.why;
    }
    nlohmann::json measured{{"kind", measured_kind(r.measured.kind)},
                            {"probes", r.measured.probes},
                            {"retransmissions", r.measured.retransmissions}};
    if (r.measured.kind == Measurement::dropped) measured["after_ms"] = r.measured.after.count();
    if (r.measured.kind == Measurement::ended) {
      measured["after_ms"] = r.measured.after.count();
      measured["errno"] = r.measured.error ? errno_name(r.measured.error) : "EOF";
      measured["cause"] = to_string(r.measured.cause);
    }
    if (!r.measured.note.empty()) measured["note"] = r.measured.note;
    if (r.measured.kind == Measurement::failed_to_run) expected = {{"kind", "none"}};
    scenarios.push_back({{"scenario", r.spec.name},
                         {"variant", r.spec.variant},
                         {"story", r.spec.story},
                         {"detector", who_detects(r.spec)},
                         {"ip", r.spec.family == AF_INET6 ? "IPv6" : "IPv4"},
                         {"policy", to_string(r.spec.policy)},
                         {"expected", expected},
                         {"measured", measured},
                         {"verdict", verdict(r)},
                         {"pass", r.pass}});
    if (const auto& p = r.population) {
      nlohmann::json population{{"connections", p->connections},
                                {"took_to_open_ms", p->took_to_open.count()}};
      if (r.spec.fault == Fault::lossy_path) {
        population["loss_each_way"] = r.spec.loss;
        population["window_ms"] = r.spec.window.count();
        population["predicted"] = p->predicted;
        population["predicted_low"] = p->predicted_low;
        population["killed"] = p->killed;
        population["measured"] = static_cast<double>(p->killed) / p->connections;
        population["interval"] = {p->low, p->high};
        population["confidence"] = p->confidence;
        population["ended_otherwise"] = p->ended_otherwise;
      } else {
        population["dead"] = p->dead;
        population["detected_inside"] = p->detected_inside;
        population["detected_outside"] = p->detected_outside;
        population["healthy_closed"] = p->healthy_closed;
        population["p50_ms"] = p->percentile(0.5).count();
        population["p99_ms"] = p->percentile(0.99).count();
        population["max_ms"] = p->percentile(1.0).count();
        population["min_ms"] = p->detection_times.empty() ? 0 : p->detection_times.front().count();
      }
      scenarios.back()["population"] = std::move(population);
    }
    if (!r.spec.target.empty()) {
      nlohmann::json target{{"settings_source", r.target_settings_source},
                            {"output", r.target_output}};
      if (const auto& p = r.target_settings) {
        target["settings"] = {{"keepalive", p->keepalive},
                              {"idle_ms", p->idle.count()},
                              {"interval_ms", p->interval.count()},
                              {"count", p->count},
                              {"user_timeout_ms", p->user_timeout.count()}};
      }
      scenarios.back()["target"] = std::move(target);
    }
    all_pass = all_pass && r.pass;
  }
  return nlohmann::json{{"cap_ms", cap.count()}, {"pass", all_pass}, {"scenarios", scenarios}}.dump(
             2) +
         "\n";
}

std::string render_trace(const ScenarioResult& r) {
  std::string text = fmt::format(
      "{} ({}'s link; times from {})\n", r.spec.title(), who_detects(r.spec),
      r.expected.kind == Expectation::detected || r.expected.kind == Expectation::beyond_cap
          ? describe(r.expected.detection.origin)
          : std::string_view("the last segment from the peer"));
  for (const TracedPacket& t : r.packets) {
    const double since = static_cast<double>(t.packet.time_us - r.reference_time_us) / 1'000'000.0;
    text += fmt::format("  {:+9.3f}s  {:<16} {}\n", since, to_string(t.role), format_tcpdump(t));
  }
  if (r.packets.empty()) text += "  (no packets captured)\n";
  return text;
}

}  // namespace tcpka::tools::lab
