// `tcpka serve`: the options, the listeners, the worker threads, and the main thread's
// own loop (signals, periodic counters, the metrics endpoint).
#include "serve/serve_command.h"

#include <fmt/core.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <vector>

#include "cli/address_option.h"
#include "cli/byte_size.h"
#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/metrics_endpoint.h"
#include "cli/policy_options.h"
#include "cli/signals.h"
#include "net/fd_limit.h"
#include "net/listener.h"
#include "net/poll_token.h"
#include "serve/echo_worker.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "serve";
constexpr int kMaxThreads = 64;
// A connection remembers its listener in one byte.
constexpr std::size_t kMaxListeners = 255;
constexpr Millis kMaxSlowReaderGrace{3'600'000};

struct Options {
  std::vector<std::string> listen{"127.0.0.1:7001"};
  std::string policy;
  std::string user_timeout;
  std::uint64_t max_conns = 0;
  std::uint32_t per_ip = 0;
  int threads = 1;
  bool reuse_port = false;
  std::string max_buffer = "64KiB";
  std::string slow_reader_grace = "10s";
  std::string idle_timeout;
  std::string heartbeat;
  std::string min_ping_interval;
  std::string log = "human";
  std::string stats_every;
  std::string metrics;
};

struct Failure {
  std::string message;
  ExitCode code;
};

// Everything the options say, checked, before anything is opened.
struct Plan {
  std::vector<net::SocketAddress> listen;
  std::optional<Policy> policy;
  ServeSettings settings;
  std::uint32_t per_ip = 0;
  int threads = 1;
  bool reuse_port = false;
  LogFormat log = LogFormat::human;
  Millis stats_every{0};
  std::optional<net::SocketAddress> metrics;
};

Result<Plan> make_plan(const Options& options) {
  Plan plan;
  if (options.listen.size() > kMaxListeners) {
    return invalid_argument(fmt::format("--listen: give at most {} addresses", kMaxListeners));
  }
  for (const std::string& text : options.listen) {
    auto address = address_option("--listen", text);
    if (!address) return address.error();
    plan.listen.push_back(*address);
  }
  // The listeners' policy; accepted sockets inherit exactly what it resolves to.
  auto asked = policy_from_options(options.policy, options.user_timeout);
  if (!asked) return asked.error();
  plan.policy = asked->policy;
  plan.settings.keepalive_armed = asked->keepalive_armed();
  plan.settings.user_timeout_armed = asked->user_timeout_armed();
  plan.settings.inherited = asked->resolved;
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return invalid_argument(
        fmt::format("--threads {}: give 1 to {}", options.threads, kMaxThreads));
  }
  plan.threads = options.threads;
  plan.reuse_port = options.reuse_port || options.threads > 1;
  auto max_buffer = parse_byte_size(options.max_buffer);
  if (!max_buffer || *max_buffer == 0) {
    return invalid_argument("--max-buffer: " + (max_buffer ? std::string("must be above zero")
                                                           : max_buffer.error().message));
  }
  plan.settings.max_buffer = *max_buffer;
  auto grace = duration_option("--slow-reader-grace", options.slow_reader_grace);
  if (!grace) return grace.error();
  if (*grace > kMaxSlowReaderGrace) return invalid_argument("--slow-reader-grace: give 0 to 1h");
  plan.settings.slow_reader_grace = *grace;
  if (!options.idle_timeout.empty()) {
    auto idle = duration_option("--idle-timeout", options.idle_timeout);
    if (!idle) return idle.error();
    if (*idle < Millis(10) || *idle > Millis(86'400'000)) {
      return invalid_argument("--idle-timeout: give 10ms to 24h");
    }
    plan.settings.idle_timeout = *idle;
  }
  if (!options.heartbeat.empty()) {
    auto heartbeat = parse_heartbeat(options.heartbeat);
    if (!heartbeat) return invalid_argument("--heartbeat: " + heartbeat.error().message);
    plan.settings.heartbeat = *heartbeat;
    // A client pinging as often as this server pings is welcome; one at twice the rate
    // is too.
    plan.settings.min_ping_interval = heartbeat->interval / 2;
  }
  if (!options.min_ping_interval.empty()) {
    if (!plan.settings.heartbeat)
      return invalid_argument("--min-ping-interval: give --heartbeat too");
    auto gap = duration_option("--min-ping-interval", options.min_ping_interval);
    if (!gap) return gap.error();
    plan.settings.min_ping_interval = *gap;
  }
  plan.settings.max_conns = options.max_conns;
  plan.per_ip = options.per_ip;
  const auto log = parse_log_format(options.log);
  if (!log) return invalid_argument("--log: '" + options.log + "' is not human, json or none");
  plan.log = *log;
  if (!options.stats_every.empty()) {
    auto every = duration_option("--stats-every", options.stats_every);
    if (!every) return every.error();
    if (*every < Millis(100)) return invalid_argument("--stats-every: give 100ms or more");
    plan.stats_every = *every;
  }
  if (!options.metrics.empty()) {
    auto address = address_option("--metrics", options.metrics);
    if (!address) return address.error();
    plan.metrics = *address;
  }
  return plan;
}

// Each worker's listeners. With several workers every one binds the same addresses with
// SO_REUSEPORT; port 0 is resolved by the first bind and reused by the others.
Result<std::vector<std::vector<BoundListener>>> open_listeners(const Plan& plan) {
  std::vector<std::vector<BoundListener>> per_worker(static_cast<std::size_t>(plan.threads));
  net::ListenOptions options;
  options.reuse_port = plan.reuse_port;
  options.policy = plan.policy;
  for (net::SocketAddress address : plan.listen) {
    for (int worker = 0; worker < plan.threads; ++worker) {
      auto fd = net::listen_tcp(address, options);
      if (!fd) return fd.error();
      auto bound = net::local_address(fd->get());
      if (!bound) return bound.error();
      address = *bound;
      per_worker[static_cast<std::size_t>(worker)].push_back(
          {std::move(*fd), net::to_string(*bound)});
    }
  }
  return per_worker;
}

// The main thread's loop: signals, the counters timer and the metrics endpoint. It opens
// everything it needs before the workers start, so that a server already out of
// descriptors for its connections can still be stopped and scraped.
class Supervisor {
 public:
  // `signals` is a signalfd for SIGINT, SIGTERM and SIGHUP (take_signals()).
  static Result<std::unique_ptr<Supervisor>> create(const Plan& plan, net::UniqueFd signals,
                                                    std::vector<WorkerCounters>& counters,
                                                    EventLog& log);
  // Until SIGINT or SIGTERM.
  void run();

 private:
  // What a ready descriptor is (net::PollToken::kind); metrics clients carry their fd.
  enum TokenKind : std::uint32_t {
    kSignal = 1,
    kStatsTimer = 2,
    kMetricsListener = 3,
    kMetricsClient = 4
  };

  Supervisor(net::Poller poller, std::vector<WorkerCounters>& counters, EventLog& log)
      : poller_(std::move(poller)), counters_(counters), log_(log) {}

  ServerTotals totals() const { return ServerTotals::sum(counters_); }
  void print_counters();
  bool on_signals();
  Result<void> open_timer(Millis every);
  Result<void> open_metrics(const net::SocketAddress& address);

  net::Poller poller_;
  std::vector<WorkerCounters>& counters_;
  EventLog& log_;
  net::UniqueFd signals_;
  net::UniqueFd timer_;
  std::optional<MetricsEndpoint> metrics_;
};

Error system_error(const char* what) {
  const int error = errno;
  return errno_error(error, std::string(what) + ": " + std::generic_category().message(error));
}

Result<std::unique_ptr<Supervisor>> Supervisor::create(const Plan& plan, net::UniqueFd signals,
                                                       std::vector<WorkerCounters>& counters,
                                                       EventLog& log) {
  auto poller = net::Poller::create();
  if (!poller) return poller.error();
  std::unique_ptr<Supervisor> supervisor(new Supervisor(std::move(*poller), counters, log));
  supervisor->signals_ = std::move(signals);
  if (auto added = supervisor->poller_.add(supervisor->signals_.get(), EPOLLIN,
                                           net::PollToken{kSignal}.packed());
      !added) {
    return added.error();
  }
  if (plan.stats_every > Millis(0)) {
    if (auto opened = supervisor->open_timer(plan.stats_every); !opened) return opened.error();
  }
  if (plan.metrics) {
    if (auto opened = supervisor->open_metrics(*plan.metrics); !opened) return opened.error();
  }
  return supervisor;
}

Result<void> Supervisor::open_timer(Millis every) {
  timer_ = net::UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_) return system_error("timerfd_create");
  const auto ms = every.count();
  const timespec period{ms / 1000, (ms % 1000) * 1'000'000};
  const itimerspec schedule{period, period};
  if (::timerfd_settime(timer_.get(), 0, &schedule, nullptr) != 0) {
    return system_error("timerfd_settime");
  }
  return poller_.add(timer_.get(), EPOLLIN, net::PollToken{kStatsTimer}.packed());
}

Result<void> Supervisor::open_metrics(const net::SocketAddress& address) {
  auto endpoint = MetricsEndpoint::create(address, [this] { return render_prometheus(totals()); });
  if (!endpoint) return endpoint.error();
  metrics_.emplace(std::move(*endpoint));
  if (auto watched = metrics_->watch(poller_, kMetricsListener, kMetricsClient); !watched) {
    return watched;
  }
  log_.write(
      log_.format() == LogFormat::json
          ? fmt::format("{{\"event\":\"metrics\",\"address\":\"{}\"}}\n", metrics_->address())
          : fmt::format("metrics http://{}/metrics\n", metrics_->address()));
  return {};
}

void Supervisor::print_counters() {
  log_.write(log_.format() == LogFormat::json ? render_summary_json(totals())
                                              : render_summary(totals()));
}

void Supervisor::run() {
  bool running = true;
  while (running) {
    const Millis timeout = metrics_ ? metrics_->next_timeout() : Millis(-1);
    poller_.wait(timeout, [&](std::uint64_t bits, std::uint32_t) {
      const net::PollToken token = net::PollToken::unpack(bits);
      switch (token.kind) {
        case kSignal:
          running = on_signals();
          return;
        case kStatsTimer: {
          std::uint64_t expirations = 0;
          [[maybe_unused]] const ssize_t n =
              ::read(timer_.get(), &expirations, sizeof(expirations));
          print_counters();
          return;
        }
        default:
          if (metrics_) metrics_->on_ready(poller_, token);
          return;
      }
    });
    if (metrics_) metrics_->expire(poller_);
  }
}

// SIGHUP prints the counters; SIGINT and SIGTERM end the run (returns false).
bool Supervisor::on_signals() {
  bool running = true;
  signalfd_siginfo info{};
  while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGHUP) {
      print_counters();
    } else {
      running = false;
    }
  }
  return running;
}

int run(const Options& options) {
  auto plan = make_plan(options);
  if (!plan) {
    return fail(
        kName, plan.error().message,
        plan.error().code == std::errc::invalid_argument ? kExitBadInput : kExitMissingCapability);
  }

  // Every connection needs a descriptor; take as many as this process may have.
  const net::FdLimit fds = net::raise_fd_limit(std::uint64_t{1} << 21);
  auto table = ConnectionTable::create(fds.now);
  if (!table) return fail(kName, table.error().message, kExitMissingCapability);
  auto listeners = open_listeners(*plan);
  if (!listeners) {
    const bool bad_input = listeners.error().code == std::errc::address_in_use ||
                           listeners.error().code == std::errc::address_not_available ||
                           listeners.error().code == std::errc::invalid_argument;
    return fail(kName, listeners.error().message,
                bad_input ? kExitBadInput : kExitMissingCapability);
  }

  // Signals are for the supervisor's signalfd: blocked before any thread starts, so that
  // every thread inherits the mask.
  auto signals = take_signals({SIGINT, SIGTERM, SIGHUP});
  if (!signals) return fail(kName, signals.error().message, kExitMissingCapability);

  EventLog log(plan->log, STDOUT_FILENO);
  ServerShared shared{std::move(*table), PerIpLimiter(plan->per_ip), log};
  std::vector<WorkerCounters> counters(static_cast<std::size_t>(plan->threads));
  const std::string policy_text = plan->settings.inherited ? to_string(*plan->settings.inherited)
                                                           : std::string("as the system has it");
  const std::optional<HeartbeatPolicy>& heartbeat = plan->settings.heartbeat;
  for (const auto& listener : (*listeners)[0]) {
    log.write(plan->log == LogFormat::json
                  ? fmt::format("{{\"event\":\"listening\",\"address\":\"{}\",\"policy\":\"{}\","
                                "\"threads\":{},\"fd_limit\":{}{}}}\n",
                                listener.address, policy_text, plan->threads, fds.now,
                                heartbeat ? ",\"heartbeat\":\"" + to_string(*heartbeat) + "\""
                                          : std::string())
                  : fmt::format("listening {} policy {} threads {} fd limit {}{}\n",
                                listener.address, policy_text, plan->threads, fds.now,
                                heartbeat ? " heartbeat " + to_string(*heartbeat) : std::string()));
  }

  std::vector<std::unique_ptr<EchoWorker>> workers;
  for (int i = 0; i < plan->threads; ++i) {
    auto worker = EchoWorker::create(i, std::move((*listeners)[static_cast<std::size_t>(i)]),
                                     plan->settings, shared, counters[static_cast<std::size_t>(i)]);
    if (!worker) return fail(kName, worker.error().message, kExitMissingCapability);
    workers.push_back(std::move(*worker));
  }

  auto supervisor = Supervisor::create(*plan, std::move(*signals), counters, log);
  if (!supervisor) {
    return fail(kName, supervisor.error().message,
                supervisor.error().code == std::errc::address_in_use ? kExitBadInput
                                                                     : kExitMissingCapability);
  }
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (auto& worker : workers)
    threads.emplace_back([&worker] { worker->run(); });
  (*supervisor)->run();
  for (auto& worker : workers)
    worker->stop();
  for (auto& thread : threads)
    thread.join();
  // Only now that no worker runs may one close connections a timer list of another
  // still names.
  for (auto& worker : workers)
    worker->close_all();
  const ServerTotals totals = ServerTotals::sum(counters);
  log.write(plan->log == LogFormat::json ? render_summary_json(totals) : render_summary(totals));
  return kExitOk;
}

}  // namespace

Subcommand add_serve_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "An echo server that finds dead peers: keepalive and user timeout on every "
      "connection, one line per close with its cause and timing");
  app->add_option("-l,--listen", options->listen,
                  "Address to listen on, repeatable (IPv4 or [IPv6]); port 0 picks one")
      ->type_name("ADDR:PORT")
      ->capture_default_str();
  add_policy_options(*app, options->policy, options->user_timeout,
                     "the listeners, inherited by every accepted socket");
  app->add_option("--max-conns", options->max_conns,
                  "Refuse connections beyond this many open (0: no limit)")
      ->capture_default_str();
  app->add_option("--per-ip", options->per_ip,
                  "Refuse connections beyond this many from one address (0: no limit)")
      ->capture_default_str();
  app->add_option("--threads", options->threads,
                  "Event loops, each with its own listeners (SO_REUSEPORT)")
      ->capture_default_str();
  app->add_flag("--reuse-port", options->reuse_port,
                "Share the port with other processes (SO_REUSEPORT): several serve processes "
                "can hold more connections than one process's descriptor limit allows");
  app->add_option("--max-buffer", options->max_buffer,
                  "Pending output per connection; at the bound, reading from it stops")
      ->type_name("SIZE")
      ->capture_default_str();
  app->add_option("--slow-reader-grace", options->slow_reader_grace,
                  "How long a connection's output may stay at --max-buffer before it is "
                  "closed as slow_reader")
      ->type_name("D")
      ->capture_default_str();
  app->add_option("--idle-timeout", options->idle_timeout,
                  "Close connections that send nothing for this long (cause idle_timeout)")
      ->type_name("D");
  app->add_option("--heartbeat", options->heartbeat,
                  "Framed mode (docs/heartbeats.md), for clients that speak it (tcpka connect "
                  "--heartbeat): ping a peer silent for INTERVAL, close one that stays silent "
                  "(cause heartbeat_timeout): INTERVAL[,timeout=D] or INTERVAL,phi=X[,window=N]"
                  "[,min-deviation=D][,pause=D]")
      ->type_name("SPEC");
  app->add_option("--min-ping-interval", options->min_ping_interval,
                  "With --heartbeat: close a peer whose pings come closer than this three "
                  "times in a row (cause too_many_pings); default half the interval")
      ->type_name("D");
  add_log_option(*app, options->log);
  app->add_option("--stats-every", options->stats_every,
                  "Print the counters this often (SIGHUP prints them too)")
      ->type_name("D");
  app->add_option("--metrics", options->metrics,
                  "Serve Prometheus metrics over HTTP at ADDR:PORT/metrics")
      ->type_name("ADDR:PORT");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
