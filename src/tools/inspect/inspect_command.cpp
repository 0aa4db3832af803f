#include "inspect/inspect_command.h"

#include <fmt/core.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/fail.h"
#include "host/cgroups.h"
#include "host/keepalive_enforcer.h"
#include "host/tcp_survey.h"
#include "inspect/inspect_report.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "inspect";

struct Options {
  std::vector<int> pids;
  std::string cgroup;
  std::vector<int> ports;
  std::vector<std::string> states;
  std::string netns;
  std::string middlebox;
  std::string via = "auto";
  std::string by = "process";
  bool json = false;
  bool explain = false;
};

// What the command line narrows the survey to, checked before the survey starts.
struct Filters {
  std::set<pid_t> pids;
  std::optional<std::string> cgroup;  // a path in the hierarchy
  std::set<std::uint16_t> ports;
  std::set<TcpConnectionState> states;
  std::string netns;  // "", "host", a /run/netns name, "pid N" or an inode
};

// "established", "ESTABLISHED", "time-wait" (as ss spells them) or "time_wait".
std::string state_key(std::string_view name) {
  std::string key;
  for (const char c : name) {
    key += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

Result<TcpConnectionState> state_named(const std::string& name) {
  std::string known;
  for (int value = 1; value <= 11; ++value) {
    const auto state = static_cast<TcpConnectionState>(value);
    const std::string key = state_key(to_string(state));
    if (key == state_key(name)) return state;
    known += (known.empty() ? "" : ", ") + key;
  }
  return invalid_argument("--state: no TCP state '" + name + "' (one of " + known + ")");
}

Result<Filters> filters_from(const Options& options) {
  Filters filters;
  filters.pids.insert(options.pids.begin(), options.pids.end());
  for (const int port : options.ports)
    filters.ports.insert(static_cast<std::uint16_t>(port));
  for (const std::string& name : options.states) {
    auto state = state_named(name);
    if (!state) return state.error();
    filters.states.insert(*state);
  }
  if (!options.cgroup.empty()) {
    auto path = host::cgroup_path(options.cgroup);
    if (!path) return invalid_argument("--cgroup: " + path.error().message);
    filters.cgroup = *path;
  }
  filters.netns = options.netns;
  return filters;
}

bool namespace_matches(const std::string& wanted, const host::SurveyedNamespace& ns) {
  if (wanted.empty()) return true;
  return wanted == ns.label || wanted == std::to_string(ns.inode);
}

bool socket_matches(const Filters& filters, const host::SurveyedSocket& socket,
                    const host::ProcessTable& processes) {
  const net::TcpSocketEntry& entry = socket.entry;
  if (!filters.states.empty() && !filters.states.contains(entry.state)) return false;
  if (!filters.ports.empty() && !filters.ports.contains(entry.local.port) &&
      !(entry.state != TcpConnectionState::listen && filters.ports.contains(entry.remote.port))) {
    return false;
  }
  if (!filters.pids.empty() &&
      std::none_of(socket.holders.begin(), socket.holders.end(),
                   [&](const host::SocketHolder& h) { return filters.pids.contains(h.pid); })) {
    return false;
  }
  if (filters.cgroup &&
      std::none_of(socket.holders.begin(), socket.holders.end(), [&](const host::SocketHolder& h) {
        const auto it = processes.processes.find(h.pid);
        return it != processes.processes.end() &&
               host::cgroup_within(it->second.cgroup, *filters.cgroup);
      })) {
    return false;
  }
  return true;
}

Result<host::SettingsReader> reader_named(const std::string& via) {
  if (via == "auto") return host::SettingsReader::automatic;
  if (via == "bpf") return host::SettingsReader::bpf_iterator;
  if (via == "pidfd") return host::SettingsReader::pidfd_getfd;
  if (via == "none") return host::SettingsReader::none;
  return invalid_argument("--via: '" + via + "' is not one of auto, bpf, pidfd, none");
}

// A --netns value names a namespace by its /run/netns name, a pid, a path to a namespace
// file or its inode; the survey compares inodes, so the first three are turned into one.
Result<std::string> netns_key(const std::string& given) {
  if (given.empty() || given == "host") return given;
  std::uint64_t inode = 0;
  const auto [end, error] = std::from_chars(given.data(), given.data() + given.size(), inode);
  if (error == std::errc() && end == given.data() + given.size()) return given;
  std::string path = given;
  if (given.find('/') == std::string::npos) path = "/run/netns/" + given;
  auto ns = net::NetNamespace::open(path);
  if (!ns) return invalid_argument("--netns: " + ns.error().message);
  return std::to_string(ns->inode());
}

int run(const Options& options) {
  auto filters = filters_from(options);
  if (!filters) return fail(kName, filters.error().message, kExitBadInput);
  auto reader = reader_named(options.via);
  if (!reader) return fail(kName, reader.error().message, kExitBadInput);
  auto netns = netns_key(options.netns);
  if (!netns) return fail(kName, netns.error().message, kExitBadInput);
  filters->netns = *netns;
  std::optional<Middlebox> middlebox;
  if (!options.middlebox.empty()) {
    auto found = find_middlebox(options.middlebox);
    if (!found) return fail(kName, "--middlebox: " + found.error().message, kExitBadInput);
    middlebox = *found;
  }

  host::SurveyOptions survey_options;
  survey_options.reader = *reader;
  survey_options.keep_namespace = [&](const host::SurveyedNamespace& ns) {
    return namespace_matches(filters->netns, ns);
  };
  survey_options.keep_socket = [&](const host::SurveyedSocket& socket,
                                   const host::ProcessTable& processes) {
    return socket_matches(*filters, socket, processes);
  };
  auto survey = host::survey_tcp_sockets(survey_options);
  if (!survey) return fail(kName, survey.error().message, kExitMissingCapability);

  // By namespace, then owner and descriptor; sockets no process holds last.
  std::sort(survey->sockets.begin(), survey->sockets.end(),
            [](const host::SurveyedSocket& a, const host::SurveyedSocket& b) {
              const auto key = [](const host::SurveyedSocket& s) {
                const bool held = !s.holders.empty();
                return std::tuple(s.ns, !held, held ? s.holders.front().pid : 0,
                                  held ? s.holders.front().fd : 0, s.entry.local.port);
              };
              return key(a) < key(b);
            });
  InspectReport report;
  report.survey = &*survey;
  report.middlebox = middlebox;
  report.group_by = options.by == "cgroup" ? GroupBy::cgroup : GroupBy::process;
  report.sockets.reserve(survey->sockets.size());
  host::EnforcementQuery enforcement;
  for (const host::SurveyedSocket& socket : survey->sockets) {
    InspectedSocket& inspected = report.sockets.emplace_back(InspectedSocket{
        &socket,
        assess(socket.entry, socket.settings, survey->namespaces[socket.ns].system, middlebox)});
    if (!socket.holders.empty()) {
      const auto& processes = survey->processes.processes;
      const auto owner = processes.find(socket.holders.front().pid);
      if (owner != processes.end()) {
        inspected.under_enforce = enforcement.covers(owner->second.cgroup);
      }
    }
  }
  if (options.json) {
    if (!print_json(report, stdout)) {
      const int error = errno;
      return fail(kName, "cannot write the report: " + std::generic_category().message(error),
                  kExitMissingCapability);
    }
  } else {
    fmt::print("{}", render_text(report, options.explain));
  }
  return kExitOk;
}

}  // namespace

Subcommand add_inspect_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Every TCP socket of the host, in every network namespace, with the keepalive and user "
      "timeout the kernel holds for it, when a dead peer would be noticed, and what puts it at "
      "risk. It changes nothing");
  app->add_option("--pid", options->pids, "Only the sockets this process holds (repeatable)")
      ->type_name("PID")
      ->check(CLI::PositiveNumber);
  app->add_option("--cgroup", options->cgroup,
                  "Only the sockets of processes in this cgroup v2 or below it "
                  "(/system.slice/x.service, or its full path under the cgroup2 mount)")
      ->type_name("PATH");
  app->add_option("--port", options->ports,
                  "Only sockets with this local or remote port "
                  "(repeatable)")
      ->type_name("PORT")
      ->check(CLI::Range(1, 65535));
  app->add_option("--state", options->states,
                  "Only sockets in this state: established, listen, time_wait... (repeatable)")
      ->type_name("STATE");
  app->add_option("--netns", options->netns,
                  "Only this network namespace: host, a name in /run/netns, a namespace file "
                  "(/proc/PID/ns/net) or its inode")
      ->type_name("NS");
  app->add_option("--middlebox", options->middlebox,
                  "Flag connections that may stay silent longer than this middlebox keeps an "
                  "idle flow: a name (aws-nlb, azure-lb, gcp-cloud-nat...; see "
                  "docs/middleboxes.md) or a duration (350s)")
      ->type_name("NAME|D");
  app->add_option("--via", options->via,
                  "How to read each socket's settings: auto (the best that works), bpf (a BPF "
                  "iterator; root), pidfd (pidfd_getfd + getsockopt), none (sock_diag's "
                  "timers only)")
      ->type_name("HOW")
      ->capture_default_str();
  app->add_option("--by", options->by, "Summarize per process or per cgroup")
      ->type_name("process|cgroup")
      ->check(CLI::IsMember({"process", "cgroup"}))
      ->capture_default_str();
  app->add_flag("--json", options->json, "Print JSON instead of tables");
  app->add_flag("--explain", options->explain, "Explain each risk flag that occurs");
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
