// Running one scenario on its own topology: connect, break the peer as the spec says,
// watch the detector's socket and the wire, and compare with the model.
#pragma once

#include <atomic>

#include "lab/scenario.h"

namespace tcpka::tools::lab {

// What a running scenario is doing, for the progress line: written by the scenario's
// thread, read by the main one.
struct ScenarioStatus {
  // `done` is set by whoever stores the result, once it is stored.
  enum Phase : int { waiting, building, connecting, watching, done };
  std::atomic<int> phase{waiting};
  std::atomic<int> probes{0};  // probes seen on the wire so far
};

struct RunLimits {
  Millis cap{20'000};             // how long to wait for a detection
  Millis target_startup{30'000};  // black-box mode: how long the target may take to listen
  const std::atomic<bool>* stop = nullptr;  // set when the user interrupts the lab
};

ScenarioResult run_scenario(const ScenarioSpec& spec, const RunLimits& limits,
                            ScenarioStatus& status);

}  // namespace tcpka::tools::lab
