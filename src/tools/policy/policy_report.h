// What `tcpka policy` reports: the settings in force, the predicted detection time of
// every failure, and the warnings; rendered as a table or as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tcpka/detection_model.h"
#include "tcpka/policy.h"
#include "tcpka/policy_warnings.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"

namespace tcpka::tools {

// A connected socket the policy was applied to, and what the kernel then had in force.
struct LiveSocket {
  std::string peer;
  Applied applied;
  PolicyReading read_back;
  bool matches = false;  // every field read back equals the predicted effective settings
};

// Whether every field `reading` has equals the one in `effective`.
bool reading_matches(const PolicyReading& reading, const ResolvedPolicy& effective);

struct Prediction {
  PeerFailure failure;
  Activity activity;
  Detection detection;
};

struct PolicyReport {
  Policy asked;
  ResolvedPolicy effective;
  SystemDefaults system;
  PathFacts path;
  std::optional<LiveSocket> live;
  std::vector<Prediction> predictions;  // every failure for every activity
  std::vector<PolicyWarning> warnings;
};

// Predicts every (failure, activity) pair and collects the warnings.
PolicyReport make_policy_report(const Policy& asked, const ResolvedPolicy& effective,
                                const SystemDefaults& system, const PathFacts& path);

// The human report; with `explain`, every prediction's interval and mechanism as well.
std::string render_text(const PolicyReport& report, bool explain);
nlohmann::json render_json(const PolicyReport& report);

}  // namespace tcpka::tools
