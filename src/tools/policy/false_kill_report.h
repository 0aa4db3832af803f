// `tcpka policy --loss`: how likely the policy is to kill a healthy idle connection on a
// lossy path; and `--recommend`: the policy that finds dead peers fastest within the
// false kills a user accepts.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tcpka/false_kills.h"
#include "tcpka/policy.h"

namespace tcpka::tools {

struct FalseKillReport {
  PathLoss loss;
  bool keepalive = false;
  int fatal_losses = 0;  // unanswered probes in a row that end a connection
  double per_hour = 0;   // per connection, within an hour of silence
  double per_day = 0;
  std::optional<std::string> warning;  // when per_day is high
};

FalseKillReport make_false_kill_report(const ResolvedPolicy& policy, PathLoss loss);
std::string render_text(const FalseKillReport& report);
nlohmann::json render_json(const FalseKillReport& report);

// The goal's middlebox, when it came from one: "aws-nlb (350s)".
std::string render_text(const Recommendation& r, const RecommendationGoal& goal,
                        const std::string& middlebox);
nlohmann::json render_json(const Recommendation& r, const RecommendationGoal& goal);

}  // namespace tcpka::tools
