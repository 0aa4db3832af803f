#include "lab/population_scenarios.h"

#include <fmt/core.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "lab/connection_crowd.h"
#include "tcpka/false_kills.h"
#include "tcpka/system_defaults.h"

namespace tcpka::tools::lab {
namespace {

using Clock = ConnectionCrowd::Clock;

// The lossy path's interval: wide enough that a correct model fails one run in a
// thousand, not one in twenty (the lab runs in CI on every change).
constexpr double kConfidence = 0.999;
// After the last dead connection is found, the healthy ones are watched this much longer.
constexpr std::chrono::seconds kHealthyMargin{1};

// The latest kill due on time that is still seen within `window` when every timer fires
// as late as the model's tolerance allows (an eighth of the delay, plus 50 ms).
Millis latest_on_time(Millis window) {
  return (window - Millis(50)) * 8 / 9;
}

Millis since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<Millis>(to - from);
}

// The inverse of the standard normal distribution's upper tail, for the two-sided
// confidences the lab uses (Acklam's rational approximation would do for any; these are
// the table's).
double z_for(double confidence) {
  if (confidence >= 0.999) return 3.2905;
  if (confidence >= 0.99) return 2.5758;
  return 1.9600;
}

struct Scene {
  std::unique_ptr<Topology> topology;
  std::optional<ConnectionCrowd> crowd;
  SystemDefaults system;
  ResolvedPolicy policy;
};

Result<Scene> build_scene(const ScenarioSpec& spec, const RunLimits& limits,
                          std::span<const Host> clients, ScenarioStatus& status) {
  Scene scene;
  status.phase = ScenarioStatus::building;
  auto topology = Topology::create(clients.size() > 1);
  if (!topology) return topology.error();
  scene.topology = std::move(*topology);
  auto system = net::inside(scene.topology->server(), [] { return read_system_defaults(); });
  if (!system) return system.error();
  scene.system = *system;
  auto resolved = resolve(spec.policy, *system);
  if (!resolved) return resolved.error();
  scene.policy = *resolved;
  status.phase = ScenarioStatus::connecting;
  const int per_host = spec.connections / static_cast<int>(clients.size());
  auto crowd = ConnectionCrowd::open(*scene.topology, clients, per_host, spec.policy, limits.stop);
  if (!crowd) return crowd.error();
  scene.crowd.emplace(std::move(*crowd));
  return scene;
}

ScenarioResult not_run(ScenarioResult result, const Error& error, const RunLimits& limits) {
  const bool stopped = limits.stop != nullptr && limits.stop->load();
  result.measured.kind = stopped ? Measurement::interrupted : Measurement::failed_to_run;
  result.measured.note = error.message;
  result.pass = false;
  return result;
}

}  // namespace

Millis Population::percentile(double p) const {
  if (detection_times.empty()) return Millis(0);
  const auto rank =
      static_cast<std::size_t>(std::ceil(p * static_cast<double>(detection_times.size())));
  return detection_times[std::clamp<std::size_t>(rank, 1, detection_times.size()) - 1];
}

BinomialInterval wilson_interval(int successes, int trials, double confidence) {
  if (trials <= 0) return {0, 1};
  const double z = z_for(confidence);
  const double n = trials;
  const double k = successes;
  const double z2 = z * z;
  const double center = (k + z2 / 2) / (n + z2);
  const double half = z / (n + z2) * std::sqrt(k * (n - k) / n + z2 / 4);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

ScenarioResult run_lossy_path(const ScenarioSpec& spec, const RunLimits& limits,
                              ScenarioStatus& status) {
  ScenarioResult result;
  result.spec = spec;
  const Host clients[] = {Host::client};
  auto scene = build_scene(spec, limits, clients, status);
  if (!scene) return not_run(std::move(result), scene.error(), limits);
  ConnectionCrowd& crowd = *scene->crowd;
  if (auto taken = crowd.take_last_segments(); !taken) {
    return not_run(std::move(result), taken.error(), limits);
  }
  // The loss, both ways, in the router: numgen draws per packet (this kernel has no netem).
  const int per_mille = static_cast<int>(std::lround(spec.loss * 1000));
  const std::string link = scene->topology->link_to(Host::client);
  if (auto lossy = scene->topology->firewall().run(
          fmt::format("add rule {0} fault iifname \"{1}\" numgen random mod 1000 < {2} drop\n"
                      "add rule {0} fault oifname \"{1}\" numgen random mod 1000 < {2} drop\n",
                      kRouterTable, link, per_mille));
      !lossy) {
    return not_run(std::move(result), lossy.error(), limits);
  }
  status.phase = ScenarioStatus::watching;
  auto watched = crowd.watch_until(crowd.latest_last_segment() + spec.window, [] { return false; });
  if (!watched) return not_run(std::move(result), watched.error(), limits);
  if (!*watched) return not_run(std::move(result), errno_error(EINTR, "interrupted"), limits);

  Population population;
  population.connections = static_cast<int>(crowd.members().size());
  population.took_to_open = std::chrono::duration_cast<Millis>(crowd.took_to_open());
  for (const auto& member : crowd.members()) {
    if (!member.ended || since(member.last_segment, *member.ended) > spec.window) continue;
    (member.error == ETIMEDOUT ? population.killed : population.ended_otherwise) += 1;
    population.detection_times.push_back(since(member.last_segment, *member.ended));
  }
  std::sort(population.detection_times.begin(), population.detection_times.end());
  const PathLoss loss{spec.loss, spec.loss};
  population.predicted = false_kill_probability(scene->policy, loss, spec.window);
  population.predicted_low =
      false_kill_probability(scene->policy, loss, latest_on_time(spec.window));
  population.confidence = kConfidence;
  const BinomialInterval interval =
      wilson_interval(population.killed, population.connections, kConfidence);
  population.low = interval.low;
  population.high = interval.high;
  result.measured.kind = Measurement::ended;
  // The prediction's band and the measurement's interval overlap.
  result.pass = population.ended_otherwise == 0 && population.predicted >= population.low &&
                population.predicted_low <= population.high;
  result.population = std::move(population);
  return result;
}

ScenarioResult run_mass_crash(const ScenarioSpec& spec, const RunLimits& limits,
                              ScenarioStatus& status) {
  ScenarioResult result;
  result.spec = spec;
  const Host clients[] = {Host::client, Host::second_client};
  auto scene = build_scene(spec, limits, clients, status);
  if (!scene) return not_run(std::move(result), scene.error(), limits);
  ConnectionCrowd& crowd = *scene->crowd;
  const Detection detection =
      predict(PeerFailure::host_silent, Activity::idle, scene->policy, scene->system);
  result.expected.kind = !detection.detected             ? Expectation::never
                         : detection.latest > limits.cap ? Expectation::beyond_cap
                                                         : Expectation::detected;
  result.expected.detection = detection;
  if (result.expected.kind != Expectation::detected) {
    return not_run(std::move(result),
                   errno_error(EINVAL,
                               "the policy finds no crashed host within the cap: nothing "
                               "to measure at scale"),
                   limits);
  }
  // The client host vanishes: the router drops everything to and from it.
  const std::string link = scene->topology->link_to(Host::client);
  if (auto cut = scene->topology->firewall().run(fmt::format(
          "add rule {0} fault iifname \"{1}\" drop\nadd rule {0} fault oifname \"{1}\" drop\n",
          kRouterTable, link));
      !cut) {
    return not_run(std::move(result), cut.error(), limits);
  }
  if (auto taken = crowd.take_last_segments(); !taken) {
    return not_run(std::move(result), taken.error(), limits);
  }
  status.phase = ScenarioStatus::watching;
  const auto dead = std::count_if(crowd.members().begin(), crowd.members().end(),
                                  [](const auto& member) { return member.client == Host::client; });
  const auto all_dead_ended = [&] {
    int ended = 0;
    for (const auto& member : crowd.members())
      ended += member.client == Host::client && member.ended ? 1 : 0;
    return ended == dead;
  };
  const auto deadline = crowd.latest_last_segment() + limits.cap;
  auto watched = crowd.watch_until(deadline, all_dead_ended);
  if (watched && *watched) {
    watched =
        crowd.watch_until(std::min(deadline, Clock::now() + kHealthyMargin), [] { return false; });
  }
  if (!watched) return not_run(std::move(result), watched.error(), limits);
  if (!*watched) return not_run(std::move(result), errno_error(EINTR, "interrupted"), limits);

  Population population;
  population.connections = static_cast<int>(crowd.members().size());
  population.took_to_open = std::chrono::duration_cast<Millis>(crowd.took_to_open());
  population.dead = static_cast<int>(dead);
  const int expected_errno = detection.error.value();
  for (const auto& member : crowd.members()) {
    if (member.client != Host::client) {
      population.healthy_closed += member.ended ? 1 : 0;
      continue;
    }
    if (!member.ended) continue;
    const Millis after = since(member.last_segment, *member.ended);
    population.detection_times.push_back(after);
    const bool inside = detection.admits(after) && member.error == expected_errno;
    (inside ? population.detected_inside : population.detected_outside) += 1;
  }
  std::sort(population.detection_times.begin(), population.detection_times.end());
  result.measured.kind = Measurement::ended;
  result.pass = population.detected_inside == dead && population.healthy_closed == 0;
  result.population = std::move(population);
  return result;
}

}  // namespace tcpka::tools::lab
