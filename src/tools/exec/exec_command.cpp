#include "exec/exec_command.h"

#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/policy_options.h"
#include "cli/signals.h"
#include "exec/exec_cgroup.h"
#include "exec/launched_program.h"
#include "exec/program_activity.h"
#include "exec/program_file.h"
#include "exec/socket_check.h"
#include "host/keepalive_enforcer.h"
#include "net/unique_fd.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "exec";
// Probes after a minute of silence, every 10 s, 6 of them: a dead peer is found within
// two minutes, idle or busy (ut=auto), at the cost of a probe a minute per idle socket.
constexpr const char* kDefaultPolicy = "idle=60s,intvl=10s,cnt=6,ut=auto";
constexpr const char* kLibraryName = "libtcpka_preload.so";
// Once the delay passed, how often --check looks again: for the program's first TCP
// socket, or for the program to wait for work; and how long it waits for the latter.
constexpr Millis kLookAgain{20};
constexpr Millis kSettleLimit{5'000};

struct Options {
  std::string policy;
  std::string user_timeout;
  bool listen_only = false;
  bool connect_only = false;
  std::string ports;
  bool override_program = false;
  bool bpf = false;
  bool verbose = false;
  std::string verbose_log;
  std::string check;
  std::vector<std::string> command;
};

#ifndef TCPKA_PRELOAD_FROM_BINDIR
#error "TCPKA_PRELOAD_FROM_BINDIR must name the shim's install directory relative to tcpka's"
#endif

// The shim sits next to the tcpka binary in a build, and in tcpka's own library directory
// where both are installed (../lib/<triplet>/tcpka from bin/): found relative to the
// binary, so that an installed tree works wherever it was put or unpacked.
Result<std::string> find_library() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return errno_error(error.value(), "cannot find tcpka's own path: " + error.message());
  const std::filesystem::path candidates[] = {
      self.parent_path() / kLibraryName,
      (self.parent_path() / TCPKA_PRELOAD_FROM_BINDIR / kLibraryName).lexically_normal(),
  };
  for (const auto& candidate : candidates) {
    if (!std::filesystem::exists(candidate, error)) continue;
    // The dynamic loader splits LD_PRELOAD at spaces and colons, and would silently load
    // nothing: a tree installed or moved under such a path is refused, saying why.
    if (candidate.string().find_first_of(" :") != std::string::npos) {
      return errno_error(EINVAL, "cannot preload " + candidate.string() +
                                     ": LD_PRELOAD cannot name a path with a space or a colon");
    }
    return candidate.string();
  }
  return errno_error(ENOENT, fmt::format("cannot find {}: looked for {} and {}", kLibraryName,
                                         candidates[0].string(), candidates[1].string()));
}

// LD_PRELOAD with the shim first; the libraries already there stay.
std::string preload_list(const std::string& library) {
  const char* existing = ::getenv("LD_PRELOAD");
  if (existing == nullptr || *existing == '\0') return library;
  std::string current = existing;
  if (current.find(library) != std::string::npos) return current;
  return library + ":" + current;
}

// Everything the options say, as the shim's environment.
Result<std::vector<std::pair<std::string, std::string>>> shim_environment(const Options& o) {
  auto asked = policy_from_options(
      o.policy.empty() && o.user_timeout.empty() ? kDefaultPolicy : o.policy, o.user_timeout);
  if (!asked) return asked.error();
  if (o.listen_only && o.connect_only) {
    return invalid_argument("--listen-only and --connect-only exclude each other");
  }
  std::vector<std::pair<std::string, std::string>> environment = {
      {"TCPKA_POLICY", asked->policy ? to_string(*asked->policy) : std::string("on")},
      {"TCPKA_SCOPE", o.listen_only    ? "listen"
                      : o.connect_only ? "connect"
                                       : "all"},
  };
  if (!o.ports.empty()) environment.emplace_back("TCPKA_PORTS", o.ports);
  if (o.override_program) environment.emplace_back("TCPKA_OVERRIDE", "1");
  if (o.verbose || !o.verbose_log.empty()) environment.emplace_back("TCPKA_DEBUG", "1");
  if (!o.verbose_log.empty()) environment.emplace_back("TCPKA_LOG", o.verbose_log);
  return environment;
}

// execvp's argument vector; points into `command`.
std::vector<char*> c_arguments(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const std::string& arg : command)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// What the check waited for, for its first line.
std::string waited_for(Millis delay, Millis waited, bool first_socket, bool still) {
  std::string text =
      first_socket
          ? fmt::format("after {}, at its first TCP socket (later than --check {})",
                        format_duration(waited), format_duration(delay))
          : fmt::format("after {} (--check {})", format_duration(waited), format_duration(delay));
  text += still ? ", while it waited"
                : fmt::format(
                      ", while it ran (it did not wait within {} of its first socket: "
                      "the list may be changing)",
                      format_duration(kSettleLimit));
  return text;
}

// With --check: once the delay has passed and the program holds a TCP socket, whichever
// is later, list its sockets; then wait for it. A slow starter (a JVM, a Python behind a
// version manager's shim) is not reported empty for being slow, and one caught mid-way
// through making its sockets is looked at again once it waits for work (every thread
// asleep, and none ran during the look), up to kSettleLimit.
int check_then_wait(LaunchedProgram& program, Millis delay, int signals) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const pid_t child = program.pid();
  const auto waited = [&] { return std::chrono::duration_cast<Millis>(Clock::now() - start); };
  std::optional<int> status = program.exited_within(delay);
  bool waiting_for_socket = false;
  std::optional<Clock::time_point> settle_by;
  while (!status) {
    const auto before = program_activity(child);
    auto check = check_sockets(child);
    const auto after = program_activity(child);
    if (!check) {
      fmt::print(stderr, "tcpka exec: --check: {}\n", check.error().message);
      break;
    }
    if (check->sockets > 0) {
      if (!settle_by) settle_by = Clock::now() + kSettleLimit;
      const bool still = before && after && before->waiting && *before == *after;
      if (still || Clock::now() >= *settle_by) {
        fmt::print(stderr,
                   "tcpka exec --check: {} TCP socket(s) of pid {}, {}\n{}{} without keepalive\n",
                   check->sockets, child, waited_for(delay, waited(), waiting_for_socket, still),
                   check->table, check->uncovered);
        break;
      }
    } else if (!waiting_for_socket) {
      fmt::print(stderr,
                 "tcpka exec --check: no TCP socket of pid {} after {}; waiting for its first\n",
                 child, format_duration(waited()));
      waiting_for_socket = true;
    }
    status = program.exited_within(kLookAgain);
  }
  if (status) {
    fmt::print(stderr,
               "tcpka exec --check: pid {} exited with status {} after {}, before its TCP sockets "
               "were listed\n",
               child, *status, format_duration(waited()));
    return *status;
  }
  return program.wait(signals);
}

// The asked policy as the kernel enforces it through BPF.
Result<host::EnforcedPolicy> bpf_policy(const Options& o) {
  const std::string text = o.policy.empty() && o.user_timeout.empty() ? kDefaultPolicy : o.policy;
  auto asked = policy_from_options(text, o.user_timeout);
  if (!asked) return asked.error();
  return host::enforced_policy_from(*asked->policy, *asked->resolved, o.override_program,
                                    to_string(*asked->policy));
}

// Where LD_PRELOAD cannot go (a static program), or with --bpf: the program runs in a
// cgroup of its own whose connections the kernel gives the policy (tcpka enforce's
// programs), attached before it starts and detached when it ends. Without --bpf, a
// machine where BPF cannot run still runs the program, saying that nothing is applied.
int run_enforced(const Options& options, const std::string& program, bool forced,
                 std::optional<Millis> check) {
  if (options.listen_only || options.connect_only || !options.ports.empty()) {
    return fail(kName,
                "--listen-only, --connect-only and --ports choose sockets for the LD_PRELOAD "
                "shim; the BPF enforcement covers every connection of the program",
                kExitBadInput);
  }
  auto policy = bpf_policy(options);
  if (!policy) return fail(kName, policy.error().message, kExitBadInput);
  auto signals = take_signals({SIGINT, SIGTERM, SIGHUP});
  if (!signals) return fail(kName, signals.error().message, kExitMissingCapability);
  const std::string why =
      forced ? "--bpf" : program + " is statically linked (LD_PRELOAD cannot reach it)";

  std::optional<ExecCgroup> cgroup;
  std::optional<host::KeepaliveEnforcer> enforcer;
  auto launched = LaunchedProgram::start(options.command);
  if (!launched) return fail(kName, launched.error().message, kExitMissingCapability);
  Error missing{};
  auto made = ExecCgroup::create();
  if (made) {
    cgroup.emplace(std::move(*made));
    auto added = cgroup->add(launched->pid());
    auto found =
        added ? host::find_cgroup(cgroup->path()) : Result<host::EnforcedCgroup>(added.error());
    auto attached = found ? host::KeepaliveEnforcer::attach(*found, *policy)
                          : Result<host::KeepaliveEnforcer>(found.error());
    if (attached) {
      enforcer.emplace(std::move(*attached));
    } else {
      missing = attached.error();
    }
  } else {
    missing = made.error();
  }
  if (!enforcer) {
    if (forced) return fail(kName, "--bpf: " + missing.message, kExitMissingCapability);
    fmt::print(stderr,
               "tcpka exec: {}, and the kernel cannot enforce the policy here ({}): nothing "
               "will be applied to its connections\n",
               why, missing.message);
  } else {
    fmt::print(stderr, "tcpka exec: {}: the kernel gives its connections {} (BPF, cgroup {})\n",
               why, policy->text, cgroup->path());
  }
  launched->release();
  return check ? check_then_wait(*launched, *check, signals->get())
               : launched->wait(signals->get());
}

int run(const Options& options) {
  if (options.command.empty()) return fail(kName, "give a command after --", kExitBadInput);
  auto environment = shim_environment(options);
  if (!environment) return fail(kName, environment.error().message, kExitBadInput);
  std::optional<Millis> check;
  if (!options.check.empty()) {
    auto delay = duration_option("--check", options.check);
    if (!delay) return fail(kName, delay.error().message, kExitBadInput);
    check = *delay;
  }
  auto program = find_program(options.command[0]);
  if (!program) return fail(kName, "cannot run " + program.error().message, kExitBadInput);
  if (options.bpf || is_statically_linked(*program)) {
    return run_enforced(options, *program, options.bpf, check);
  }
  auto library = find_library();
  if (!library) return fail(kName, library.error().message, kExitMissingCapability);
  for (const auto& [name, value] : *environment)
    ::setenv(name.c_str(), value.c_str(), 1);
  ::setenv("LD_PRELOAD", preload_list(*library).c_str(), 1);

  if (check) {
    auto launched = LaunchedProgram::start(options.command);
    if (!launched) return fail(kName, launched.error().message, kExitMissingCapability);
    launched->release();
    return check_then_wait(*launched, *check, -1);
  }
  std::vector<char*> argv = c_arguments(options.command);
  ::execvp(argv[0], argv.data());
  return fail(kName,
              "cannot run " + options.command[0] + ": " + std::generic_category().message(errno),
              kExitBadInput);
}

}  // namespace

Subcommand add_exec_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Run a program with keepalive and a user timeout on its TCP sockets (LD_PRELOAD), "
      "whether it asked for them or not");
  add_policy_options(*app, options->policy, options->user_timeout,
                     std::string("the program's TCP sockets (default ") + kDefaultPolicy + ")");
  app->add_flag("--listen-only", options->listen_only,
                "Only listening sockets and the connections they accept");
  app->add_flag("--connect-only", options->connect_only, "Only sockets that connect out");
  app->add_option("--ports", options->ports,
                  "Only sockets listening on or connecting to these ports: 80,443,8000-8080")
      ->type_name("LIST");
  app->add_flag("--override", options->override_program,
                "The policy wins over the program's own keepalive settings (default: the "
                "program's setsockopt wins)");
  app->add_flag("--bpf", options->bpf,
                "Have the kernel enforce the policy (BPF, as tcpka enforce does) on every "
                "connection of the program, in a cgroup of its own for the run: the default "
                "for statically linked programs, which LD_PRELOAD cannot reach");
  app->add_flag("-v,--verbose", options->verbose, "Log each socket the shim touches, on stderr");
  app->add_option("--verbose-log", options->verbose_log,
                  "Log each socket the shim touches to FILE instead")
      ->type_name("FILE");
  app->add_option("--check", options->check,
                  "Once D has passed and the program holds a TCP socket (whichever is later), "
                  "list its TCP sockets and whether keepalive is armed on each, as the "
                  "kernel sees them (sock_diag)")
      ->type_name("D");
  app->add_option("command", options->command, "The program and its arguments, after --")
      ->type_name("-- CMD ARGS...");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
