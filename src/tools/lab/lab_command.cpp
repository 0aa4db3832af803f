#include "lab/lab_command.h"

#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/share_option.h"
#include "cli/signals.h"
#include "lab/lab_report.h"
#include "lab/report_page.h"
#include "lab/scenario_matrix.h"
#include "lab/scenario_runner.h"
#include "lab/target_send.h"
#include "lab/wine_client.h"
#include "net/net_namespace.h"

namespace tcpka::tools {
namespace {

using namespace lab;

constexpr std::string_view kName = "lab";
constexpr Millis kMinCap{5'000};
constexpr Millis kMaxCap{600'000};
constexpr Millis kMinTargetStartup{100};
constexpr Millis kMaxTargetStartup{600'000};
// While scenarios wait on kernel timers, say which every this often.
constexpr auto kProgressEvery = std::chrono::seconds(5);
// mass-crash: two client hosts, each within one port range (1024-65535) of the server's
// one address and port.
constexpr int kMinScale = 2;
constexpr int kMaxScale = 120'000;
// lossy-path: the router draws per mille; above half the path is not a path.
constexpr double kMaxLoss = 0.5;

struct Options {
  std::string policy = kDefaultLabPolicy;
  std::string cap = "20s";
  std::vector<std::string> only;
  bool list = false;
  bool json = false;
  bool trace = false;
  std::string target;
  std::string target_send;
  bool target_send_given = false;
  std::string target_startup = "30s";
  bool target_startup_given = false;
  std::string report;
  std::string loss = "10%";
  int scale = CrowdSizes{}.mass_crash_connections;
  int lossy_connections = CrowdSizes{}.lossy_connections;
  std::string windows_client = TCPKA_WINDOWS_CLIENT;
  bool windows_client_given = false;
};

// The scenarios a black box can face: its client fails in each way; the server is the
// user's, with whatever keepalive it sets (or not).
std::vector<ScenarioSpec> black_box_matrix(const std::vector<ScenarioSpec>& matrix,
                                           const std::string& target,
                                           const std::string& target_send) {
  std::vector<ScenarioSpec> specs;
  for (const ScenarioSpec& spec : matrix) {
    const bool idle = spec.detector == Host::server && spec.family == AF_INET &&
                      spec.activity == Activity::idle &&
                      (spec.fault == Fault::kill_process || spec.fault == Fault::blackhole ||
                       spec.fault == Fault::reboot || spec.fault == Fault::unreachable ||
                       spec.fault == Fault::stop_process);
    // Data in flight, once: an echo server's reply to the client's last request.
    const bool busy = spec.name == "host-crash-busy" && spec.variant == "no UT";
    if ((!idle && !busy) || spec.heartbeat) continue;  // heartbeat rows have their own server
    specs.push_back(spec);
    specs.back().target = target;
    specs.back().target_send = target_send;
    if (busy) {
      specs.back().variant = "answer in flight";
      specs.back().story =
          "the client's host vanishes right after a request (--target-send): the server's "
          "answer is never acknowledged";
    }
  }
  return specs;
}

bool selected(const ScenarioSpec& spec, const std::vector<std::string>& only) {
  return only.empty() || std::find(only.begin(), only.end(), spec.name) != only.end() ||
         std::find(only.begin(), only.end(), spec.title()) != only.end();
}

std::string list_scenarios(const std::vector<ScenarioSpec>& specs) {
  std::string text;
  for (const ScenarioSpec& spec : specs)
    text += fmt::format("{:<42} {}\n", spec.title(), spec.story);
  return text;
}

// Runs every scenario on its own thread and topology, all at once: they spend their
// time waiting on kernel timers, not on the CPU.
class Runner {
 public:
  Runner(std::vector<ScenarioSpec> specs, Millis cap, Millis target_startup)
      : specs_(std::move(specs)), statuses_(specs_.size()), results_(specs_.size()) {
    limits_.cap = cap;
    limits_.target_startup = target_startup;
    limits_.stop = &stop_;
  }

  // Returns false if interrupted by SIGINT or SIGTERM (read from `signals`).
  bool run(int signals);
  const std::vector<ScenarioResult>& results() const { return results_; }

 private:
  void report_finished(std::size_t index);
  void report_waiting(std::chrono::steady_clock::time_point start) const;

  std::vector<ScenarioSpec> specs_;
  std::vector<ScenarioStatus> statuses_;
  std::vector<ScenarioResult> results_;
  std::vector<bool> reported_ = std::vector<bool>(specs_.size(), false);
  RunLimits limits_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> finished_{0};
};

bool Runner::run(int signals) {
  std::vector<std::thread> threads;
  threads.reserve(specs_.size());
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    threads.emplace_back([this, i] {
      results_[i] = run_scenario(specs_[i], limits_, statuses_[i]);
      // Only now may the main thread read results_[i].
      statuses_[i].phase.store(ScenarioStatus::done);
      finished_.fetch_add(1);
    });
  }
  const auto start = std::chrono::steady_clock::now();
  auto next_progress = start + kProgressEvery;
  bool interrupted = false;
  while (finished_.load() < specs_.size()) {
    pollfd ready{signals, POLLIN, 0};
    if (::poll(&ready, 1, 100) == 1) {
      signalfd_siginfo info{};
      while (::read(signals, &info, sizeof(info)) == sizeof(info)) {
      }
      if (!interrupted) fmt::print(stderr, "lab: interrupted; cleaning up\n");
      interrupted = true;
      stop_.store(true);
    }
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      if (!reported_[i] && statuses_[i].phase.load() == ScenarioStatus::done) report_finished(i);
    }
    if (std::chrono::steady_clock::now() >= next_progress && !interrupted) {
      report_waiting(start);
      next_progress += kProgressEvery;
    }
  }
  for (std::thread& thread : threads)
    thread.join();
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (!reported_[i]) report_finished(i);
  }
  return !interrupted;
}

void Runner::report_finished(std::size_t i) {
  reported_[i] = true;
  const std::size_t done =
      static_cast<std::size_t>(std::count(reported_.begin(), reported_.end(), true));
  const ScenarioResult& r = results_[i];
  const std::string what = r.measured.kind == Measurement::failed_to_run
                               ? "not run: " + r.measured.note
                               : fmt::format("{} ({})", measured_text(r, limits_.cap), verdict(r));
  fmt::print(stderr, "lab: [{:>2}/{}] {}: {}\n", done, specs_.size(), r.spec.title(), what);
}

void Runner::report_waiting(std::chrono::steady_clock::time_point start) const {
  std::string waiting;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (statuses_[i].phase.load() == ScenarioStatus::done) continue;
    waiting += fmt::format("{}{} (probes {})", waiting.empty() ? "" : ", ", specs_[i].title(),
                           statuses_[i].probes.load());
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  fmt::print(stderr, "lab: {}s, waiting for {}\n", seconds.count(), waiting);
}

int run(const Options& options) {
  auto policy = parse_policy(options.policy);
  if (!policy) return fail(kName, "--policy: " + policy.error().message, kExitBadInput);
  auto cap = duration_option("--cap", options.cap);
  if (!cap) return fail(kName, cap.error().message, kExitBadInput);
  if (*cap < kMinCap || *cap > kMaxCap) {
    return fail(
        kName,
        fmt::format("--cap: give {} to {}", format_duration(kMinCap), format_duration(kMaxCap)),
        kExitBadInput);
  }
  auto target_startup = duration_option("--target-startup", options.target_startup);
  if (!target_startup) return fail(kName, target_startup.error().message, kExitBadInput);
  if (*target_startup < kMinTargetStartup || *target_startup > kMaxTargetStartup) {
    return fail(kName,
                fmt::format("--target-startup: give {} to {}", format_duration(kMinTargetStartup),
                            format_duration(kMaxTargetStartup)),
                kExitBadInput);
  }
  if (options.target_startup_given && options.target.empty()) {
    return fail(kName, "--target-startup: only with --target", kExitBadInput);
  }
  if (options.target_send_given && options.target.empty()) {
    return fail(kName, "--target-send: only with --target", kExitBadInput);
  }
  auto target_send = parse_target_send(options.target_send);
  if (!target_send)
    return fail(kName, "--target-send: " + target_send.error().message, kExitBadInput);
  auto loss = parse_share(options.loss);
  if (!loss) return fail(kName, "--loss: " + loss.error().message, kExitBadInput);
  const double per_mille = *loss * 1000;
  if (*loss > kMaxLoss || std::abs(per_mille - std::round(per_mille)) > 1e-9) {
    return fail(kName, "--loss: give 0% to 50% in steps of 0.1% (the router draws per mille)",
                kExitBadInput);
  }
  if (options.scale < kMinScale || options.scale > kMaxScale || options.scale % 2 != 0) {
    return fail(kName,
                fmt::format("--scale: give an even count from {} to {} (half from each client "
                            "host, each within one port range)",
                            kMinScale, kMaxScale),
                kExitBadInput);
  }
  if (options.lossy_connections < 1 || options.lossy_connections > kMaxScale / 2) {
    return fail(kName, fmt::format("--lossy-connections: give 1 to {}", kMaxScale / 2),
                kExitBadInput);
  }
  CrowdSizes sizes;
  sizes.loss = *loss;
  sizes.lossy_connections = options.lossy_connections;
  sizes.mass_crash_connections = options.scale;
  std::vector<ScenarioSpec> specs = default_matrix(*policy, sizes);
  // Said once the whole command line is known to be good: bad input gets one line.
  std::string windows_left_out;
  if (!options.target.empty()) {
    specs = black_box_matrix(specs, options.target, *target_send);
  } else if (options.windows_client != "none") {
    // The Windows scenario runs where the Windows build and Wine are; said when it cannot.
    if (auto windows = WineClient::find(options.windows_client)) {
      specs.push_back(windows_scenario(*policy, options.windows_client));
    } else if (options.windows_client_given) {
      return fail(kName, "--windows-client: " + windows.error().message, kExitBadInput);
    } else {
      windows_left_out = windows.error().message;
    }
  }
  for (const std::string& name : options.only) {
    const bool known = std::any_of(specs.begin(), specs.end(), [&](const ScenarioSpec& s) {
      return s.name == name || s.title() == name;
    });
    if (!known && !windows_left_out.empty() && name.starts_with("windows-client")) {
      return fail(kName, "--only: the windows-client scenario cannot run: " + windows_left_out,
                  kExitBadInput);
    }
    if (!known) {
      return fail(kName, "--only: no scenario '" + name + "' (see tcpka lab --list)",
                  kExitBadInput);
    }
  }
  std::erase_if(specs, [&](const ScenarioSpec& s) { return !selected(s, options.only); });
  const auto say_what_is_left_out = [&] {
    if (windows_left_out.empty() || !options.only.empty()) return;
    fmt::print(stderr, "tcpka lab: the windows-client scenario is left out: {}\n",
               windows_left_out);
  };
  if (options.list) {
    say_what_is_left_out();
    fmt::print("{}", list_scenarios(specs));
    return kExitOk;
  }

  // A report that cannot be written is known before twenty seconds are spent.
  std::ofstream report;
  if (!options.report.empty()) {
    report.open(options.report, std::ios::trunc);
    if (!report) {
      return fail(kName,
                  "--report: cannot write " + options.report + ": " +
                      std::generic_category().message(errno),
                  kExitBadInput);
    }
  }

  // Before any thread: a user namespace (without root) takes only a lone thread.
  if (auto isolated = net::isolate_process_network(); !isolated) {
    return fail(kName, isolated.error().message, kExitMissingCapability);
  }
  auto signals = take_signals({SIGINT, SIGTERM});
  if (!signals) return fail(kName, signals.error().message, kExitMissingCapability);

  say_what_is_left_out();
  fmt::print(stderr, "lab: {} scenarios in parallel, policy {}, waiting up to {} each\n",
             specs.size(), to_string(*policy), format_duration(*cap));
  Runner runner(std::move(specs), *cap, *target_startup);
  const bool completed = runner.run(signals->get());
  const auto& results = runner.results();
  if (options.json) {
    fmt::print("{}", render_json(results, *cap));
  } else {
    fmt::print("{}", render_table(results, *cap));
  }
  if (options.trace) {
    for (const ScenarioResult& r : results)
      fmt::print("\n{}", render_trace(r));
  }
  if (report.is_open()) {
    report << render_report_page(results, *cap);
    report.close();
    if (!report)
      return fail(kName, "--report: writing " + options.report + " failed", kExitBadInput);
    fmt::print(stderr, "lab: report written to {}\n", options.report);
  }
  if (!completed) return fail(kName, "interrupted before every scenario ended", kExitCheckFailed);
  // Namespaces that cannot be made are the environment's fault, not the kernel's.
  const bool all_failed_to_run = std::all_of(results.begin(), results.end(), [](const auto& r) {
    return r.measured.kind == Measurement::failed_to_run;
  });
  if (all_failed_to_run && !results.empty() && options.target.empty()) {
    return fail(kName, "no scenario could run: " + results.front().measured.note,
                kExitMissingCapability);
  }
  const bool pass =
      std::all_of(results.begin(), results.end(), [](const auto& r) { return r.pass; });
  return pass ? kExitOk : kExitCheckFailed;
}

}  // namespace

Subcommand add_lab_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Reproduce every way a TCP peer dies, on the real kernel in private network "
      "namespaces, and compare each detection with the model's prediction");
  app->add_option("-p,--policy", options->policy,
                  "The keepalive policy under test (the matrix adds and removes the user "
                  "timeout where that is the point)")
      ->type_name("P")
      ->capture_default_str();
  app->add_option("--cap", options->cap,
                  "How long to wait for a detection before reporting 'not within'")
      ->type_name("D")
      ->capture_default_str();
  app->add_option("--only", options->only,
                  "Run only this scenario (its name, or name with variant); repeatable")
      ->type_name("NAME");
  app->add_option("--target", options->target,
                  "Black-box mode: run this server command in the server host instead of the "
                  "lab's own ({port} becomes its port) and watch when it drops dead clients")
      ->type_name("'CMD {port}'");
  app->add_option("--target-send", options->target_send,
                  "With --target: what the client sends once connected (escapes \\r \\n \\t "
                  "\\xHH; @FILE for a file's bytes), e.g. a request the server answers. "
                  "Default: nothing")
      ->type_name("TEXT")
      ->each([options](const std::string&) { options->target_send_given = true; });
  app->add_option("--target-startup", options->target_startup,
                  "With --target: how long the server may take to listen before its scenario "
                  "is reported as not run")
      ->type_name("D")
      ->capture_default_str()
      ->each([options](const std::string&) { options->target_startup_given = true; });
  app->add_option("--windows-client", options->windows_client,
                  "The Windows program of the windows-client scenario, run under Wine (default: "
                  "the Windows build's); 'none' leaves that scenario out")
      ->type_name("EXE")
      ->each([options](const std::string&) { options->windows_client_given = true; });
  app->add_option("--loss", options->loss,
                  "lossy-path: the share of packets the router drops each way")
      ->type_name("SHARE")
      ->capture_default_str();
  app->add_option("--lossy-connections", options->lossy_connections,
                  "lossy-path: how many connections each of its rows watches")
      ->type_name("N")
      ->capture_default_str();
  app->add_option("--scale", options->scale,
                  "mass-crash: how many connections, half from each client host (100000 runs "
                  "on a machine with 2 cores and 24 GiB)")
      ->type_name("N")
      ->capture_default_str();
  app->add_flag("--list", options->list, "List the scenarios and exit");
  app->add_flag("--json", options->json, "Print the results as JSON");
  app->add_option("--report", options->report,
                  "Also write a self-contained HTML page: the table and a timeline per scenario")
      ->type_name("FILE.html");
  app->add_flag("--trace", options->trace,
                "After the table, each scenario's packets as tcpdump shows them");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
