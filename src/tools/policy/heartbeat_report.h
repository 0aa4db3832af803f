// `tcpka policy --heartbeat`: what an application heartbeat adds to the kernel's
// keepalive, failure by failure, and which of the two finds the peer first.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/policy_report.h"
#include "tcpka/heartbeat.h"

namespace tcpka::tools {

// Which mechanism reports a failed peer first.
enum class FirstFinder { kernel, heartbeat, either, neither };

struct HeartbeatRow {
  PeerFailure failure;
  Detection kernel;     // the kernel, on an idle connection
  Detection heartbeat;  // counted from the last bytes from the peer's application
  FirstFinder first = FirstFinder::neither;
};

struct HeartbeatReport {
  HeartbeatPolicy policy;
  Millis tick{0};  // how often serve and connect look at heartbeat deadlines
  std::vector<HeartbeatRow> rows;
};

// Puts the heartbeat's prediction next to the kernel's (from `kernel`, the policy's).
HeartbeatReport make_heartbeat_report(const HeartbeatPolicy& policy, const PolicyReport& kernel);

std::string render_text(const HeartbeatReport& report);
nlohmann::json render_json(const HeartbeatReport& report);

}  // namespace tcpka::tools
