// tcpka watch: every TCP connection of the host that ends, with its cause, as a stream
// of close lines (serve's format) and, with --metrics, as Prometheus series.
//
// One thread runs the loop: the death source (BPF ring buffer, or sock_diag listeners),
// signals and the metrics endpoint. The survey behind the established gauge runs on a
// thread of its own (connection_survey.h), the log's writer on another (event_log.h),
// so that neither a slow survey nor a slow reader of the log holds up the deaths.
#include "watch/watch_command.h"

#include <fmt/core.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/address_option.h"
#include "cli/close_event.h"
#include "cli/duration_option.h"
#include "cli/event_log.h"
#include "cli/fail.h"
#include "cli/metrics_endpoint.h"
#include "cli/signals.h"
#include "host/cgroup_names.h"
#include "net/endpoint.h"
#include "net/poll_token.h"
#include "watch/connection_survey.h"
#include "watch/death_sources.h"
#include "watch/watch_metrics.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "watch";
constexpr std::size_t kMaxTop = 1000;

struct Options {
  std::string via = "auto";
  std::string log = "human";
  std::string metrics;
  std::size_t top = 20;
  std::string survey_interval = "10s";
  std::string duration;
};

struct Plan {
  std::optional<DeathSourceKind> source;  // empty: BPF, else sock_diag
  LogFormat log = LogFormat::human;
  std::optional<net::SocketAddress> metrics;
  std::size_t top = 20;
  Millis survey_interval{10'000};  // 0: no survey
  std::optional<Millis> duration;
};

Result<Plan> make_plan(const Options& options) {
  Plan plan;
  if (options.via == "bpf") {
    plan.source = DeathSourceKind::bpf;
  } else if (options.via == "sock_diag") {
    plan.source = DeathSourceKind::sock_diag;
  } else if (options.via != "auto") {
    return invalid_argument("--via: '" + options.via + "' is not one of auto, bpf, sock_diag");
  }
  const auto log = parse_log_format(options.log);
  if (!log) return invalid_argument("--log: '" + options.log + "' is not human, json or none");
  plan.log = *log;
  if (!options.metrics.empty()) {
    auto address = address_option("--metrics", options.metrics);
    if (!address) return address.error();
    plan.metrics = *address;
  }
  if (options.top < 1 || options.top > kMaxTop) {
    return invalid_argument(fmt::format("--top {}: give 1 to {}", options.top, kMaxTop));
  }
  plan.top = options.top;
  auto interval = duration_option("--survey-interval", options.survey_interval);
  if (!interval) return interval.error();
  if (*interval != Millis(0) && *interval < Millis(1'000)) {
    return invalid_argument("--survey-interval: give 0 (no survey) or 1s or more");
  }
  plan.survey_interval = *interval;
  if (!options.duration.empty()) {
    auto duration = duration_option("--duration", options.duration);
    if (!duration) return duration.error();
    if (*duration <= Millis(0)) return invalid_argument("--duration: give more than 0s");
    plan.duration = *duration;
  }
  return plan;
}

// What a ready descriptor is (net::PollToken::kind).
enum TokenKind : std::uint32_t { kSignal = 1, kDeaths, kMetricsListener, kMetricsClient };

class Watcher {
 public:
  Watcher(const Plan& plan, DeathSources sources, net::Poller poller, net::UniqueFd signals,
          EventLog& log)
      : plan_(plan),
        sources_(std::move(sources)),
        poller_(std::move(poller)),
        signals_(std::move(signals)),
        log_(log),
        metrics_(sources_.name(), plan.top) {}

  Result<void> open_metrics(const net::SocketAddress& address);
  std::string metrics_address() const { return endpoint_ ? endpoint_->address() : ""; }
  void start_survey();
  void run();
  std::uint64_t deaths() const { return metrics_.deaths(); }
  const char* source_name() const { return sources_.name(); }
  std::size_t namespaces() const { return sources_.namespaces(); }
  std::uint64_t lost() const { return sources_.lost_ring_buffer() + sources_.netlink_overruns(); }

 private:
  void on_death(const host::TcpDeath& death);
  void take_census();
  void report_losses();
  bool on_signals();

  const Plan& plan_;
  DeathSources sources_;
  net::Poller poller_;
  net::UniqueFd signals_;
  EventLog& log_;
  WatchMetrics metrics_;
  std::optional<MetricsEndpoint> endpoint_;
  std::unique_ptr<ConnectionSurvey> survey_;
  ConnectionCensus census_;
  host::CgroupNames cgroups_;
  std::uint64_t lost_reported_ = 0;
};

Result<void> Watcher::open_metrics(const net::SocketAddress& address) {
  auto endpoint = MetricsEndpoint::create(address, [this] {
    take_census();
    metrics_.set_lost(sources_.lost_ring_buffer(), sources_.netlink_overruns());
    return metrics_.render();
  });
  if (!endpoint) return endpoint.error();
  endpoint_.emplace(std::move(*endpoint));
  return endpoint_->watch(poller_, kMetricsListener, kMetricsClient);
}

void Watcher::start_survey() {
  if (plan_.survey_interval > Millis(0)) {
    survey_ = std::make_unique<ConnectionSurvey>(plan_.survey_interval);
  }
}

void Watcher::take_census() {
  if (!survey_) return;
  auto census = survey_->take();
  if (!census) return;
  census_ = std::move(*census);
  metrics_.set_established(census_.established);
}

void Watcher::on_death(const host::TcpDeath& death) {
  CloseEvent event;
  event.peer = net::to_string(death.remote);
  event.local = net::to_string(death.local);
  event.duration = death.lifetime;
  event.bytes_in = death.bytes_in.value_or(0);
  event.bytes_out = death.bytes_out.value_or(0);
  event.cause = host::cause_of(death);
  event.error = death.error;
  event.since_last_received = death.silent;
  event.probes = death.probes;
  event.retransmits = death.total_retransmits;
  event.at = death.when;
  event.pid = death.owner_pid;
  event.process = death.owner_name;
  event.cgroup = cgroups_.path_of(death.cgroup_id);
  // A connection older than the BPF program: its owner as the last survey found it.
  if (death.inode != 0 && (event.pid == 0 || event.cgroup.empty())) {
    const auto owner = census_.owners.find(death.inode);
    if (owner != census_.owners.end()) {
      if (event.pid == 0) {
        event.pid = owner->second.pid;
        event.process = owner->second.name;
      }
      if (event.cgroup.empty()) event.cgroup = owner->second.cgroup;
    }
  }
  const std::string service = service_name(event.cgroup, death.local.port, census_.listening_ports);
  metrics_.count_death(service, event.cause,
                       host::detected_by_kernel(event.cause) ? death.silent : std::nullopt);
  if (log_.enabled()) log_.write(format_close_event(event, log_.format()));
}

// A loss is a line of its own, once a second at most, besides its counter.
void Watcher::report_losses() {
  const std::uint64_t lost = this->lost();
  if (lost == lost_reported_ || !log_.enabled()) return;
  const std::uint64_t more = lost - lost_reported_;
  lost_reported_ = lost;
  log_.write(log_.format() == LogFormat::json
                 ? fmt::format("{{\"event\":\"lost\",\"source\":\"{}\",\"count\":{}}}\n",
                               sources_.name(), more)
                 : fmt::format("lost {} deaths ({}: {})\n", more, sources_.name(),
                               sources_.kind() == DeathSourceKind::bpf
                                   ? "the ring buffer was full"
                                   : "netlink overran, each overrun losing one or more"));
}

void Watcher::run() {
  const auto started = std::chrono::steady_clock::now();
  const auto visit = [this](const host::TcpDeath& death) { on_death(death); };
  bool running = true;
  while (running) {
    Millis timeout(1'000);  // losses, the census and a new namespace are looked at each second
    if (endpoint_) {
      const Millis endpoint_timeout = endpoint_->next_timeout();
      if (endpoint_timeout >= Millis(0)) timeout = std::min(timeout, endpoint_timeout);
    }
    if (plan_.duration) {
      const auto left = *plan_.duration - std::chrono::duration_cast<Millis>(
                                              std::chrono::steady_clock::now() - started);
      if (left <= Millis(0)) break;
      timeout = std::min(timeout, left);
    }
    poller_.wait(timeout, [&](std::uint64_t bits, std::uint32_t) {
      const net::PollToken token = net::PollToken::unpack(bits);
      switch (token.kind) {
        case kSignal:
          running = on_signals();
          return;
        case kDeaths:
          if (auto drained = sources_.drain(token.index, visit); !drained) {
            fail(kName, drained.error().message, kExitMissingCapability);
            running = false;
          }
          return;
        default:
          if (endpoint_) endpoint_->on_ready(poller_, token);
          return;
      }
    });
    if (endpoint_) endpoint_->expire(poller_);
    take_census();
    for (const std::string& joined : sources_.rescan(poller_)) {
      fmt::print(stderr, "tcpka {}: joined network namespace {}\n", kName, joined);
    }
    report_losses();
  }
  sources_.drain_all(visit);
  report_losses();
}

// SIGINT and SIGTERM end the run (returns false).
bool Watcher::on_signals() {
  signalfd_siginfo info{};
  bool running = true;
  while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info))
    running = false;
  return running;
}

int run(const Options& options) {
  auto plan = make_plan(options);
  if (!plan) return fail(kName, plan.error().message, kExitBadInput);

  auto signals = take_signals({SIGINT, SIGTERM});
  if (!signals) return fail(kName, signals.error().message, kExitMissingCapability);
  auto poller = net::Poller::create();
  if (!poller) return fail(kName, poller.error().message, kExitMissingCapability);
  if (auto added = poller->add(signals->get(), EPOLLIN, net::PollToken{kSignal}.packed()); !added) {
    return fail(kName, added.error().message, kExitMissingCapability);
  }

  auto sources = DeathSources::open(plan->source.value_or(DeathSourceKind::bpf), *poller, kDeaths);
  if (!sources && !plan->source) {
    fmt::print(stderr, "tcpka {}: {}; watching through the sock_diag destroy groups instead\n",
               kName, sources.error().message);
    sources = DeathSources::open(DeathSourceKind::sock_diag, *poller, kDeaths);
  }
  if (!sources) return fail(kName, sources.error().message, kExitMissingCapability);

  EventLog log(plan->log, STDOUT_FILENO);
  Watcher watcher(*plan, std::move(*sources), std::move(*poller), std::move(*signals), log);
  if (plan->metrics) {
    if (auto opened = watcher.open_metrics(*plan->metrics); !opened) {
      const bool bad_input = opened.error().code == std::errc::address_in_use ||
                             opened.error().code == std::errc::address_not_available;
      return fail(kName, "--metrics: " + opened.error().message,
                  bad_input ? kExitBadInput : kExitMissingCapability);
    }
  }
  watcher.start_survey();
  std::string ready = fmt::format("tcpka {}: ready via {}", kName, watcher.source_name());
  if (watcher.namespaces() != 0)
    ready += fmt::format(" ({} network namespaces)", watcher.namespaces());
  if (plan->metrics) ready += ", metrics on " + watcher.metrics_address();
  fmt::print(stderr, "{}\n", ready);
  (void)std::fflush(stderr);  // the ready line, for whoever waits for it
  watcher.run();
  const std::uint64_t dropped = log.flush(EventLog::kDefaultFlushDeadline);
  fmt::print(stderr, "tcpka {}: {} connections ended, {} deaths lost{}\n", kName, watcher.deaths(),
             watcher.lost(),
             dropped != 0 ? fmt::format(", {} lines dropped by a slow log", dropped) : "");
  return kExitOk;
}

}  // namespace

Subcommand add_watch_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Every TCP connection of the host that ends, in every network namespace, as it ends: "
      "its cause (keepalive_timeout, user_timeout, peer_reset...), how long its peer had "
      "been silent, its owner; as close lines and, with --metrics, Prometheus series. It "
      "changes nothing");
  app->add_option("--via", options->via,
                  "Where deaths come from: auto (the best that works), bpf (the socket "
                  "tracepoints; root), sock_diag (the destroy groups: a socket is announced "
                  "only once its program closes it, without its errno)")
      ->type_name("HOW")
      ->capture_default_str();
  app->add_option("--log", options->log, "Close lines: human, json or none")
      ->type_name("FORMAT")
      ->capture_default_str();
  app->add_option("--metrics", options->metrics,
                  "Serve Prometheus metrics on this address (GET /metrics), e.g. 127.0.0.1:9977")
      ->type_name("ADDR:PORT");
  app->add_option("--top", options->top,
                  "Services (cgroups, listeners' ports) with a label of their own in the "
                  "metrics; the rest are \"other\"")
      ->type_name("N")
      ->capture_default_str();
  app->add_option("--survey-interval", options->survey_interval,
                  "How often to count established connections and read their keepalive "
                  "(the established gauge, owners of older connections); 0: never")
      ->type_name("D")
      ->capture_default_str();
  app->add_option("--duration", options->duration, "Stop after this long (default: at SIGINT)")
      ->type_name("D");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
