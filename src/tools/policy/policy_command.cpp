#include "policy/policy_command.h"

#include <fmt/core.h>

#include <memory>
#include <string>

#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/share_option.h"
#include "policy/false_kill_report.h"
#include "policy/heartbeat_report.h"
#include "policy/live_socket.h"
#include "policy/policy_report.h"
#include "tcpka/middleboxes.h"
#include "tcpka/socket_options.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "policy";

struct Options {
  std::string policy = "off";
  std::string fd_of;
  std::string rtt = "1ms";
  bool json = false;
  bool explain = false;
  bool keep_total = false;
  bool policy_given = false;
  std::string loss;
  bool recommend = false;
  std::string middlebox;
  std::string false_kills = "1e-6";
  std::string min_idle = "10s";
  std::string heartbeat;
};

int recommend(const Options& options) {
  if (options.loss.empty()) return fail(kName, "--recommend: give --loss too", kExitBadInput);
  if (options.policy_given || !options.fd_of.empty()) {
    return fail(kName, "--recommend chooses the policy: leave out --policy and --fd-of",
                kExitBadInput);
  }
  RecommendationGoal goal;
  auto loss = parse_path_loss(options.loss);
  if (!loss) return fail(kName, "--loss: " + loss.error().message, kExitBadInput);
  goal.loss = *loss;
  auto per_day = parse_probability(options.false_kills);
  if (!per_day) return fail(kName, "--false-kills: " + per_day.error().message, kExitBadInput);
  goal.false_kills_per_day = *per_day;
  auto min_idle = duration_option("--min-idle", options.min_idle);
  if (!min_idle) return fail(kName, min_idle.error().message, kExitBadInput);
  goal.min_idle = *min_idle;
  std::string middlebox;
  if (!options.middlebox.empty()) {
    auto found = find_middlebox(options.middlebox);
    if (!found) return fail(kName, "--middlebox: " + found.error().message, kExitBadInput);
    goal.idle_limit = found->idle_timeout;
    middlebox = fmt::format("{} (forgets idle flows after {})", found->name,
                            format_duration(found->idle_timeout));
  }
  auto recommended = recommend_policy(goal);
  if (!recommended) return fail(kName, recommended.error().message, kExitCheckFailed);
  if (options.json) {
    fmt::print("{}\n", render_json(*recommended, goal).dump(2));
  } else {
    fmt::print("{}", render_text(*recommended, goal, middlebox));
  }
  return kExitOk;
}

int run(const Options& options) {
  if (options.recommend) return recommend(options);
  if (!options.middlebox.empty() || options.false_kills != "1e-6" || options.min_idle != "10s") {
    return fail(kName, "--middlebox, --false-kills and --min-idle: only with --recommend",
                kExitBadInput);
  }
  std::optional<PathLoss> loss;
  if (!options.loss.empty()) {
    auto parsed = parse_path_loss(options.loss);
    if (!parsed) return fail(kName, "--loss: " + parsed.error().message, kExitBadInput);
    loss = *parsed;
  }
  std::optional<HeartbeatPolicy> heartbeat;
  if (!options.heartbeat.empty()) {
    auto parsed = parse_heartbeat(options.heartbeat);
    if (!parsed) return fail(kName, "--heartbeat: " + parsed.error().message, kExitBadInput);
    heartbeat = *parsed;
  }
  auto asked = parse_policy(options.policy);
  if (!asked) return fail(kName, "--policy: " + asked.error().message, kExitBadInput);
  auto rtt = parse_duration(options.rtt);
  if (!rtt) return fail(kName, "--rtt: " + rtt.error().message, kExitBadInput);
  auto system = read_system_defaults();
  if (!system) return fail(kName, system.error().message, kExitMissingCapability);
  auto effective = resolve(*asked, *system);
  if (!effective) return fail(kName, "--policy: " + effective.error().message, kExitBadInput);

  PolicyReport report =
      make_policy_report(*asked, *effective, *system, PathFacts{*rtt, std::nullopt});
  if (!options.fd_of.empty()) {
    const ApplyOptions apply{options.keep_total ? FixedCount::keep_total
                                                : FixedCount::keep_interval};
    auto live = probe_live_socket(options.fd_of, *asked, *effective, apply);
    if (const auto* failure = std::get_if<LiveProbeFailure>(&live)) {
      return fail(kName, failure->message, failure->code);
    }
    report.live = std::get<LiveSocket>(live);
  }

  const std::optional<FalseKillReport> false_kills =
      loss ? std::optional(make_false_kill_report(*effective, *loss)) : std::nullopt;
  const std::optional<HeartbeatReport> heartbeats =
      heartbeat ? std::optional(make_heartbeat_report(*heartbeat, report)) : std::nullopt;
  if (options.json) {
    nlohmann::json json = render_json(report);
    if (false_kills) json["false_kills"] = render_json(*false_kills);
    if (heartbeats) json["heartbeat"] = render_json(*heartbeats);
    fmt::print("{}\n", json.dump(2));
  } else {
    fmt::print("{}", render_text(report, options.explain));
    if (false_kills) fmt::print("{}", render_text(*false_kills));
    if (heartbeats) fmt::print("{}", render_text(*heartbeats));
  }
  return report.live && !report.live->matches ? kExitCheckFailed : kExitOk;
}

}  // namespace

Subcommand add_policy_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Show what a keepalive policy does on this host: the settings in force, when each kind "
      "of dead peer is detected, and the policy's weak spots");
  app->add_option("-p,--policy", options->policy,
                  "The policy: idle=10s,intvl=5s,cnt=5,ut=auto | 10:5:5 | 30m::10 | on | off. "
                  "Default: off, what a socket has when its program asks for nothing")
      ->type_name("P")
      ->each([options](const std::string&) { options->policy_given = true; });
  app->add_option("--fd-of", options->fd_of,
                  "Also connect to HOST:PORT with the policy applied and read back what the "
                  "kernel has in force on that socket (exit 1 if it differs)")
      ->type_name("HOST:PORT");
  app->add_flag("--keep-total", options->keep_total,
                "With --fd-of, where the system fixes the probe count (Windows' "
                "SIO_KEEPALIVE_VALS: 10), scale the interval so that idle + intvl * cnt stays as "
                "asked");
  app->add_option("--rtt", options->rtt, "Round-trip time of the path, for the model")
      ->type_name("D")
      ->capture_default_str();
  app->add_option("--loss", options->loss,
                  "Also say how likely the policy is to kill a healthy idle connection on a path "
                  "that loses this share of packets (2% each way, or 2%,0.5%: to the peer, back)")
      ->type_name("SHARE[,BACK]");
  app->add_flag("--recommend", options->recommend,
                "Instead, print the policy that finds a silent peer fastest on the --loss path "
                "within --false-kills and under --middlebox's idle limit");
  app->add_option("--middlebox", options->middlebox,
                  "With --recommend: a NAT or load balancer on the path (aws-nlb, gcp-nat, ... as "
                  "tcpka inspect --middlebox knows them) or its idle limit (350s)")
      ->type_name("NAME|D");
  app->add_option("--false-kills", options->false_kills,
                  "With --recommend: the most false kills accepted, per connection per day "
                  "(1e-6, 1/1000000)")
      ->type_name("P")
      ->capture_default_str();
  app->add_option("--min-idle", options->min_idle,
                  "With --recommend: the least idle to consider (each idle connection sends a "
                  "probe per idle)")
      ->type_name("D")
      ->capture_default_str();
  app->add_option("--heartbeat", options->heartbeat,
                  "An application heartbeat beside the policy, as serve and connect take it: "
                  "INTERVAL[,timeout=D] or INTERVAL,phi=X[,window=N][,min-deviation=D][,pause=D] "
                  "(e.g. 1s,timeout=3s): when it finds each failure, and whether it or the "
                  "kernel is first")
      ->option_text("SPEC");
  app->add_flag("--json", options->json, "Print JSON instead of tables");
  app->add_flag("--explain", options->explain,
                "Also print each prediction's interval and the mechanism behind it");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
