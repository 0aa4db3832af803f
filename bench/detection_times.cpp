// How long the kernel takes to report each kind of dead peer, measured on loopback next
// to the model's prediction: the numbers behind docs/model.md and bench/RESULTS.md.
//
//   build/bench/detection_times [RUNS]
//
// Every scenario runs RUNS times (default 3) over IPv4 and IPv6, all concurrently (they
// mostly wait on kernel timers). The scenarios that need root (lowered sysctls in a
// private network namespace, TCP_REPAIR) are skipped without it.
#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "support/private_netns.h"
#include "support/scenarios.h"
#include "tcpka/errno_name.h"

namespace {

using namespace tcpka;
using namespace tcpka::testing;

struct Scenario {
  std::string name;
  bool needs_root;
  std::function<ScenarioRun(int family)> run;
};

// Runs `body` in a private network namespace after setting `sysctl` there.
std::function<ScenarioRun(int)> in_namespace(std::string sysctl, std::string value,
                                             std::function<ScenarioRun(int)> body) {
  return [=](int family) {
    ScenarioRun result;
    in_private_netns([&] {
      if (!sysctl.empty()) write_net_sysctl(sysctl, value);
      result = body(family);
    });
    return result;
  };
}

std::vector<Scenario> scenarios() {
  return {
      {"silent idle peer, idle=1s,intvl=1s,cnt=2", false,
       [](int f) { return silent_idle_peer(f, "idle=1s,intvl=1s,cnt=2"); }},
      {"silent idle peer, cnt=5 but ut=2500ms", false,
       [](int f) { return silent_idle_peer(f, "idle=1s,intvl=1s,cnt=5,ut=2500ms"); }},
      {"silent idle peer, ut=1s below idle=2s", false,
       [](int f) { return silent_idle_peer(f, "idle=2s,intvl=1s,cnt=3,ut=1s"); }},
      {"unacked data to a silent peer, ut=1500ms", false,
       [](int f) { return silent_peer_with_unacked_data(f, "ut=1500ms"); }},
      {"shut window, silent peer, ut=1500ms", false,
       [](int f) { return shut_window(f, "ut=1500ms", false); }},
      {"shut window, hung peer, ut=1500ms", false,
       [](int f) { return shut_window(f, "ut=1500ms", true); }},
      {"connect to a silent host, ut=2500ms", false,
       [](int f) { return connect_to_silent_host(f, "ut=2500ms"); }},
      {"unacked data, silent peer, tcp_retries2=3", true,
       in_namespace("ipv4/tcp_retries2", "3",
                    [](int f) { return silent_peer_with_unacked_data(f, "on"); })},
      {"unacked data, silent peer, tcp_retries2=5", true,
       in_namespace("ipv4/tcp_retries2", "5",
                    [](int f) { return silent_peer_with_unacked_data(f, "on"); })},
      {"shut window, silent peer, tcp_retries2=3", true,
       in_namespace("ipv4/tcp_retries2", "3", [](int f) { return shut_window(f, "on", false); })},
      {"connect to a silent host, tcp_syn_retries=2", true,
       in_namespace("ipv4/tcp_syn_retries", "2",
                    [](int f) { return connect_to_silent_host(f, "on"); })},
      {"rebooted idle peer, idle=1s", true,
       in_namespace("", "", [](int f) { return rebooted_idle_peer(f, "idle=1s,intvl=1s,cnt=3"); })},
      {"rebooted peer, unacked data", true,
       in_namespace("", "", [](int f) { return rebooted_peer_with_unacked_data(f, "on"); })},
  };
}

struct Row {
  std::string name;
  int family;
  std::vector<std::future<ScenarioRun>> runs;
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const bool root = can_create_network_namespaces();
  std::vector<Row> rows;
  for (const Scenario& scenario : scenarios()) {
    if (scenario.needs_root && !root) {
      fmt::print("skipped (needs root): {}\n", scenario.name);
      continue;
    }
    for (int family : {AF_INET, AF_INET6}) {
      Row row{scenario.name, family, {}};
      for (int i = 0; i < runs; ++i) {
        row.runs.push_back(std::async(std::launch::async, scenario.run, family));
      }
      rows.push_back(std::move(row));
    }
  }

  int outside = 0;
  fmt::print("{:<45} {:<4} {:>17} {:>22} {:>6} {:<12} {:<18} {}\n", "scenario", "ip", "predicted",
             "measured", "ratio", "errno", "cause", "probes kernel/model");
  for (Row& row : rows) {
    std::string measured;
    ScenarioRun last;
    double worst_ratio = 0;
    for (auto& future : row.runs) {
      last = future.get();
      measured += (measured.empty() ? "" : " ") + format_seconds(last.measured.after);
      const double ratio =
          static_cast<double>(last.measured.after.count()) /
          static_cast<double>(std::max<std::int64_t>(1, last.predicted.earliest.count()));
      worst_ratio = std::max(worst_ratio, ratio);
      if (!last.predicted.admits(last.measured.after)) ++outside;
    }
    const Detection& d = last.predicted;
    const std::string ratio =
        d.earliest >= Millis(100) ? fmt::format("{:.3f}", worst_ratio) : std::string("-");
    fmt::print("{:<45} {:<4} {:>17} {:>22} {:>6} {:<12} {:<19} {}/{}\n", row.name,
               row.family == AF_INET ? "v4" : "v6",
               format_seconds(d.earliest) + ".." + format_seconds(d.latest), measured, ratio,
               errno_name(last.measured.error), to_string(last.classified),
               last.post_mortem.probes.value_or(-1), d.probes);
  }
  fmt::print("\n{} of {} measurements outside the predicted interval\n", outside,
             static_cast<int>(rows.size()) * runs);
  return outside == 0 ? 0 : 1;
}
