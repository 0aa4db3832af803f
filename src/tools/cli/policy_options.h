// --policy and --user-timeout, as every subcommand that opens sockets takes them.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka::tools {

struct AskedPolicy {
  std::optional<Policy> policy;            // empty: neither option was given
  std::optional<ResolvedPolicy> resolved;  // what a new socket has with it, on this host

  // What the policy arms, for telling why a connection timed out.
  bool keepalive_armed() const { return resolved && resolved->keepalive; }
  bool user_timeout_armed() const { return resolved && resolved->user_timeout.count() > 0; }
};

// Adds -p,--policy and --user-timeout to `app`, storing the texts; `applies_to` says what
// the policy is set on ("every connection").
void add_policy_options(CLI::App& app, std::string& policy, std::string& user_timeout,
                        std::string_view applies_to);

// Adds --log human|json|none (default human).
void add_log_option(CLI::App& app, std::string& log);

// Parses --policy, lets --user-timeout (auto|off|D) replace its ut, and resolves the
// result against this host's defaults. Errors are invalid_argument naming the option,
// except a failure to read the host's defaults.
Result<AskedPolicy> policy_from_options(const std::string& policy, const std::string& user_timeout);

}  // namespace tcpka::tools
