// The scenarios of many connections at once (Fault::lossy_path, Fault::mass_crash): each
// on its own topology, judged as a population rather than one connection at a time.
#pragma once

#include "lab/scenario_runner.h"

namespace tcpka::tools::lab {

// Healthy idle connections over a path that loses packets: the share killed within the
// window against the model's false-kill probability, inside a binomial interval.
ScenarioResult run_lossy_path(const ScenarioSpec& spec, const RunLimits& limits,
                              ScenarioStatus& status);
// Half the connections from a host that vanishes, half from one that stays: every dead
// one found inside the model's interval, no healthy one closed.
ScenarioResult run_mass_crash(const ScenarioSpec& spec, const RunLimits& limits,
                              ScenarioStatus& status);

// The binomial interval (Wilson's score) of `successes` in `trials` at `confidence`.
struct BinomialInterval {
  double low = 0, high = 0;
};
BinomialInterval wilson_interval(int successes, int trials, double confidence);

}  // namespace tcpka::tools::lab
