#include "policy/policy_command.h"

#include <fmt/core.h>

#include <memory>
#include <string>

#include "cli/fail.h"
#include "policy/live_socket.h"
#include "policy/policy_report.h"
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
};

int run(const Options& options) {
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

  if (options.json) {
    fmt::print("{}\n", render_json(report).dump(2));
  } else {
    fmt::print("{}", render_text(report, options.explain));
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
      ->type_name("P");
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
  app->add_flag("--json", options->json, "Print JSON instead of tables");
  app->add_flag("--explain", options->explain,
                "Also print each prediction's interval and the mechanism behind it");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
