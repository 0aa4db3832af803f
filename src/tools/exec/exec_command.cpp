#include "exec/exec_command.h"

#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/duration_option.h"
#include "cli/fail.h"
#include "cli/policy_options.h"
#include "exec/socket_check.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "exec";
// Probes after a minute of silence, every 10 s, 6 of them: a dead peer is found within
// two minutes, idle or busy (ut=auto), at the cost of a probe a minute per idle socket.
constexpr const char* kDefaultPolicy = "idle=60s,intvl=10s,cnt=6,ut=auto";
constexpr const char* kLibraryName = "libtcpka_preload.so";

struct Options {
  std::string policy;
  std::string user_timeout;
  bool listen_only = false;
  bool connect_only = false;
  std::string ports;
  bool override_program = false;
  bool verbose = false;
  std::string verbose_log;
  std::string check;
  std::vector<std::string> command;
};

// The shim sits next to the tcpka binary, in the build and where both are installed.
Result<std::string> find_library() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return errno_error(error.value(), "cannot find tcpka's own path: " + error.message());
  const auto library = self.parent_path() / kLibraryName;
  if (!std::filesystem::exists(library, error)) {
    return errno_error(ENOENT, std::string(kLibraryName) + " is not next to " + self.string() +
                                   " (build the tcpka_preload target)");
  }
  return library.string();
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

// With --check: start the program, list its sockets after the delay, then wait for it.
int run_and_check(const std::vector<std::string>& command, Millis delay) {
  const pid_t child = ::fork();
  if (child < 0) return fail(kName, "fork failed", kExitMissingCapability);
  if (child == 0) {
    std::vector<char*> argv = c_arguments(command);
    ::execvp(argv[0], argv.data());
    fmt::print(stderr, "tcpka exec: cannot run {}: {}\n", command[0],
               std::generic_category().message(errno));
    ::_exit(kExitBadInput);
  }
  std::this_thread::sleep_for(delay);
  auto report = check_sockets(child);
  if (report) {
    fmt::print(stderr, "{}", *report);
  } else {
    fmt::print(stderr, "tcpka exec: --check: {}\n", report.error().message);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
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
  auto library = find_library();
  if (!library) return fail(kName, library.error().message, kExitMissingCapability);
  for (const auto& [name, value] : *environment)
    ::setenv(name.c_str(), value.c_str(), 1);
  ::setenv("LD_PRELOAD", preload_list(*library).c_str(), 1);

  if (check) return run_and_check(options.command, *check);
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
  app->add_flag("-v,--verbose", options->verbose, "Log each socket the shim touches, on stderr");
  app->add_option("--verbose-log", options->verbose_log,
                  "Log each socket the shim touches to FILE instead")
      ->type_name("FILE");
  app->add_option("--check", options->check,
                  "After D, list the program's TCP sockets and whether keepalive is armed on "
                  "each, as the kernel sees them (sock_diag)")
      ->type_name("D");
  app->add_option("command", options->command, "The program and its arguments, after --")
      ->type_name("-- CMD ARGS...");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
