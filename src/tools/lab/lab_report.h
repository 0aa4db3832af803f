// What `tcpka lab` prints: the table of predicted next to measured, the same for
// machines, and the captured packets of a scenario in tcpdump's style.
#pragma once

#include <span>
#include <string>

#include "lab/scenario.h"

namespace tcpka::tools::lab {

std::string render_table(std::span<const ScenarioResult> results, Millis cap);
std::string render_json(std::span<const ScenarioResult> results, Millis cap);
// One scenario's packets, each with its time since the reference moment and its role.
std::string render_trace(const ScenarioResult& result);

// Short texts shared by the renderings.
std::string predicted_text(const Expectation& expected, Millis cap);
std::string measured_text(const Measurement& measured, Millis cap);
std::string who_detects(const ScenarioSpec& spec);

}  // namespace tcpka::tools::lab
