// `tcpka connect`: the options, the checks, the descriptor budget, and the run.
#include "connect/connect_command.h"

#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <memory>

#include "cli/byte_size.h"
#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/policy_options.h"
#include "cli/signals.h"
#include "connect/client_loop.h"
#include "connect/source_addresses.h"
#include "net/fd_limit.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "connect";
// Descriptors beyond one per connection: standard streams, epoll, signalfd, and slack.
constexpr std::uint64_t kSpareDescriptors = 32;
constexpr std::uint64_t kDefaultMessageSize = 64;

struct Options {
  std::string target;
  std::string policy;
  std::string user_timeout;
  std::string send;
  std::string send_every;
  std::string size;
  std::uint64_t count = 1;
  double rate = 0;
  std::string source;
  std::string duration;
  std::string warmup;
  bool reconnect = false;
  bool hold = false;
  std::string heartbeat;
  std::string log = "human";
};

std::string pattern(std::uint64_t size) {
  std::string bytes(size, '\0');
  for (std::uint64_t i = 0; i < size; ++i)
    bytes[i] = static_cast<char>('a' + i % 26);
  return bytes;
}

Result<void> plan_messages(const Options& options, ClientPlan& plan) {
  if (options.hold &&
      (!options.send.empty() || !options.send_every.empty() || !options.size.empty())) {
    return invalid_argument("--hold sends nothing: drop --send, --send-every and --size");
  }
  if (!options.send.empty() && !options.size.empty()) {
    return invalid_argument("give --send TEXT or --size N, not both");
  }
  if (!options.send.empty()) plan.message = options.send;
  if (!options.size.empty()) {
    auto size = parse_byte_size(options.size);
    if (!size) return invalid_argument("--size: " + size.error().message);
    if (*size == 0 || *size > (64u << 20)) return invalid_argument("--size: give 1B to 64MiB");
    plan.message = pattern(*size);
  }
  if (!options.send_every.empty()) {
    auto every = duration_option("--send-every", options.send_every);
    if (!every) return every.error();
    if (*every < Millis(1)) return invalid_argument("--send-every: give 1ms or more");
    plan.send_every = *every;
    if (plan.message.empty()) plan.message = pattern(kDefaultMessageSize);
  }
  return {};
}

Result<ClientPlan> make_plan(const Options& options) {
  ClientPlan plan;
  auto endpoint = net::parse_endpoint(options.target);
  if (!endpoint) return endpoint.error();
  auto addresses = net::resolve(*endpoint);
  if (!addresses) return addresses.error();
  plan.target = addresses->front();
  if (!options.source.empty()) {
    auto sources = parse_source_addresses(options.source);
    if (!sources) return sources.error();
    for (const net::SocketAddress& source : *sources) {
      if (source.family() != plan.target.family()) {
        return invalid_argument(
            "--source: " + net::to_string(source).substr(0, net::to_string(source).rfind(':')) +
            " is not of the target's address family");
      }
    }
    plan.sources = std::move(*sources);
  }
  if (options.count == 0) return invalid_argument("--count: give 1 or more");
  plan.count = options.count;
  if (options.rate < 0) return invalid_argument("--rate: give a rate of 0 (all at once) or more");
  plan.rate = options.rate;
  if (!options.duration.empty()) {
    auto duration = duration_option("--duration", options.duration);
    if (!duration) return duration.error();
    plan.duration = *duration;
  }
  if (!options.warmup.empty()) {
    auto warmup = duration_option("--warmup", options.warmup);
    if (!warmup) return warmup.error();
    plan.warmup = *warmup;
  }
  plan.reconnect = options.reconnect;
  if (!options.heartbeat.empty()) {
    auto heartbeat = parse_heartbeat(options.heartbeat);
    if (!heartbeat) return invalid_argument("--heartbeat: " + heartbeat.error().message);
    plan.heartbeat = *heartbeat;
  }
  if (auto planned = plan_messages(options, plan); !planned) return planned.error();
  auto asked = policy_from_options(options.policy, options.user_timeout);
  if (!asked) return asked.error();
  plan.policy = asked->policy;
  plan.keepalive_armed = asked->keepalive_armed();
  plan.user_timeout_armed = asked->user_timeout_armed();
  return plan;
}

int run(const Options& options) {
  auto plan = make_plan(options);
  if (!plan) {
    return fail(
        kName, plan.error().message,
        plan.error().code == std::errc::invalid_argument ? kExitBadInput : kExitMissingCapability);
  }
  const auto log_format = parse_log_format(options.log);
  if (!log_format) {
    return fail(kName, "--log: '" + options.log + "' is not human, json or none", kExitBadInput);
  }

  // One descriptor per connection: take as many as allowed, and say so when it is not
  // enough rather than fail connection by connection.
  const std::uint64_t needed = plan->count + kSpareDescriptors;
  const net::FdLimit fds = net::raise_fd_limit(needed);
  if (fds.now < needed) {
    return fail(kName,
                fmt::format("--count {} needs {} descriptors; this process may have at most {} "
                            "(RLIMIT_NOFILE's hard limit; raising it needs CAP_SYS_RESOURCE): "
                            "run several connect processes",
                            plan->count, needed, fds.now),
                kExitBadInput);
  }

  auto stop = take_signals({SIGINT, SIGTERM});
  if (!stop) return fail(kName, stop.error().message, kExitMissingCapability);

  EventLog log(*log_format, STDOUT_FILENO);
  const std::string policy_text = plan->policy ? to_string(*plan->policy) : "as the system has it";
  log.write(
      *log_format == LogFormat::json
          ? fmt::format("{{\"event\":\"connecting\",\"target\":\"{}\",\"count\":{},"
                        "\"sources\":{},\"policy\":\"{}\",\"fd_limit\":{},"
                        "\"fd_limit_before\":{}}}\n",
                        net::to_string(plan->target), plan->count, plan->sources.size(),
                        policy_text, fds.now, fds.before)
          : fmt::format("connecting {} x{} from {} source(s) policy {} fd limit {} (was {})\n",
                        net::to_string(plan->target), plan->count,
                        std::max<std::size_t>(plan->sources.size(), 1), policy_text, fds.now,
                        fds.before));

  auto loop = ClientLoop::create(*plan, log, stop->get());
  if (!loop) return fail(kName, loop.error().message, kExitMissingCapability);
  const ClientTotals totals = loop->run();
  log.write(render_client_summary(totals,
                                  *log_format == LogFormat::none ? LogFormat::human : *log_format));
  // Nothing could connect: the check the user asked for failed.
  return totals.established == 0 ? kExitCheckFailed : kExitOk;
}

}  // namespace

Subcommand add_connect_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Open connections to a server, echo-test them, and report when and why each one died");
  app->add_option("target", options->target, "Where to connect")
      ->type_name("HOST:PORT")
      ->required();
  add_policy_options(*app, options->policy, options->user_timeout, "every connection");
  app->add_option("--send", options->send, "Send TEXT after connecting (and every --send-every)")
      ->type_name("TEXT");
  app->add_option("--send-every", options->send_every,
                  "Send a message this often on each connection and time its echo")
      ->type_name("D");
  app->add_option("--size", options->size, "Message size for --send-every (a pattern)")
      ->type_name("SIZE");
  app->add_option("-n,--count", options->count, "Connections to open")->capture_default_str();
  app->add_option("--rate", options->rate, "Connections opened per second (0: all at once)")
      ->capture_default_str();
  app->add_option("--source", options->source,
                  "Source addresses to spread connections over: 127.0.0.2-127.0.0.250 or a list")
      ->type_name("RANGE");
  app->add_option("--duration", options->duration,
                  "Stop after this long (default: when every connection has ended, or on ^C)")
      ->type_name("D");
  app->add_option("--warmup", options->warmup,
                  "Leave the round trips of the first D out of the statistics (while "
                  "connections are still opening)")
      ->type_name("D");
  app->add_flag("--reconnect", options->reconnect,
                "Reconnect what dies, backing off exponentially with jitter");
  app->add_flag("--hold", options->hold, "Stay connected and silent (the default without --send)");
  app->add_option("--heartbeat", options->heartbeat,
                  "Speak serve's framed mode (docs/heartbeats.md): ping after INTERVAL of "
                  "silence, answer pings, and close a peer that stays silent (cause "
                  "heartbeat_timeout): INTERVAL[,timeout=D] or INTERVAL,phi=X[,window=N]"
                  "[,min-deviation=D][,pause=D]; the server needs --heartbeat too")
      ->type_name("SPEC");
  add_log_option(*app, options->log);
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
