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
// A row's: "-" for a scenario that did not run, a population's share or spread.
std::string predicted_text(const ScenarioResult& result, Millis cap);
std::string measured_text(const ScenarioResult& result, Millis cap);
std::string who_detects(const ScenarioSpec& spec);
// "ok", "OUTSIDE", "not run", "interrupted", or "seen" (a black box whose settings could
// not be read: watched, not judged).
std::string verdict(const ScenarioResult& result);
// A black box's settings as read: "keepalive 2s/1s/3, user timeout 5s (read through bpf)".
std::string target_settings_text(const ScenarioResult& result);

}  // namespace tcpka::tools::lab
