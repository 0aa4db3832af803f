#include "policy/false_kill_report.h"

#include <fmt/core.h>

namespace tcpka::tools {
namespace {

constexpr Millis kHour{3'600'000};
constexpr Millis kDay{86'400'000};
// Above this per connection per day a fleet sees false kills every day: one connection in
// ten thousand.
constexpr double kHighPerDay = 1e-4;

std::string percent(double share) {
  return fmt::format("{:g}%", share * 100);
}

std::string loss_text(PathLoss loss) {
  return loss.to_peer == loss.from_peer
             ? percent(loss.to_peer) + " each way"
             : fmt::format("{} to the peer, {} back", percent(loss.to_peer),
                           percent(loss.from_peer));
}

std::string chance(double p) {
  return p == 0 ? std::string("0") : fmt::format("{:.2g}", p);
}

// As `--policy` takes it: ut=auto is idle + intvl * cnt, what the recommendation holds.
std::string recommended_text(const ResolvedPolicy& p) {
  return fmt::format("idle={},intvl={},cnt={},ut=auto", format_duration(p.idle),
                     format_duration(p.interval), p.count);
}

}  // namespace

FalseKillReport make_false_kill_report(const ResolvedPolicy& policy, PathLoss loss) {
  FalseKillReport r;
  r.loss = loss;
  r.keepalive = policy.keepalive;
  r.fatal_losses = policy.keepalive ? fatal_probe_losses(policy) : 0;
  r.per_hour = false_kill_probability(policy, loss, kHour);
  r.per_day = false_kill_probability(policy, loss, kDay);
  if (r.per_day >= kHighPerDay) {
    r.warning = fmt::format(
        "a false kill chance of {} per connection per day is high: 10,000 idle connections "
        "lose about {:.0f} a day to it; more probes (cnt) or a longer idle lower it (tcpka "
        "policy --recommend --loss ...)",
        chance(r.per_day), r.per_day * 10'000);
  }
  return r;
}

std::string render_text(const FalseKillReport& r) {
  std::string text = fmt::format("\nOn a path losing {} (a probe round trip fails {}):\n",
                                 loss_text(r.loss), percent(r.loss.round_trip()));
  if (!r.keepalive) return text + "  keepalive is off: no probe, no false kill\n";
  text += fmt::format("  {} unanswered probe{} in a row end a healthy connection\n", r.fatal_losses,
                      r.fatal_losses == 1 ? "" : "s");
  text += fmt::format("  false kills per idle connection: {} within an hour, {} within a day\n",
                      chance(r.per_hour), chance(r.per_day));
  if (r.warning) text += "  warning: " + *r.warning + "\n";
  return text;
}

nlohmann::json render_json(const FalseKillReport& r) {
  nlohmann::json json{{"loss_to_peer", r.loss.to_peer},
                      {"loss_from_peer", r.loss.from_peer},
                      {"probe_round_trip_loss", r.loss.round_trip()},
                      {"keepalive", r.keepalive},
                      {"fatal_probe_losses", r.fatal_losses},
                      {"per_hour", r.per_hour},
                      {"per_day", r.per_day}};
  if (r.warning) json["warning"] = *r.warning;
  return json;
}

std::string render_text(const Recommendation& r, const RecommendationGoal& goal,
                        const std::string& middlebox) {
  std::string text = fmt::format("For a path losing {}", loss_text(goal.loss));
  if (!middlebox.empty()) text += ", through " + middlebox;
  text +=
      fmt::format(", at most {:g} false kills per connection per day:\n", goal.false_kills_per_day);
  text += fmt::format("  policy       {}\n", recommended_text(r.policy));
  text += fmt::format(
      "  detects      a silent peer of an idle connection after {}; data in "
      "flight to it after at most the user timeout, {}\n",
      format_duration(r.detection), format_duration(r.policy.user_timeout));
  text += fmt::format("  false kills  {} within an hour, {} within a day\n",
                      chance(r.false_kills_per_hour), chance(r.false_kills_per_day));
  text += "  why          " + r.why + "\n";
  return text;
}

nlohmann::json render_json(const Recommendation& r, const RecommendationGoal& goal) {
  return {{"policy", recommended_text(r.policy)},
          {"idle_ms", r.policy.idle.count()},
          {"interval_ms", r.policy.interval.count()},
          {"count", r.policy.count},
          {"user_timeout_ms", r.policy.user_timeout.count()},
          {"detection_ms", r.detection.count()},
          {"false_kills_per_hour", r.false_kills_per_hour},
          {"false_kills_per_day", r.false_kills_per_day},
          {"goal",
           {{"loss_to_peer", goal.loss.to_peer},
            {"loss_from_peer", goal.loss.from_peer},
            {"idle_limit_ms", goal.idle_limit.count()},
            {"false_kills_per_day", goal.false_kills_per_day}}},
          {"why", r.why}};
}

}  // namespace tcpka::tools
