#include "cli/policy_options.h"

#include "tcpka/system_defaults.h"

namespace tcpka::tools {

void add_policy_options(CLI::App& app, std::string& policy, std::string& user_timeout,
                        std::string_view applies_to) {
  app.add_option("-p,--policy", policy,
                 "Keepalive policy for " + std::string(applies_to) +
                     ": idle=10s,intvl=5s,cnt=5,ut=auto | 10:5:5 | on | off")
      ->type_name("P");
  app.add_option("--user-timeout", user_timeout,
                 "TCP_USER_TIMEOUT: auto (idle+intvl*cnt), off, or a duration; replaces the "
                 "policy's ut")
      ->type_name("auto|off|D");
}

void add_log_option(CLI::App& app, std::string& log) {
  app.add_option("--log", log, "Close events as human lines, json lines, or none")
      ->type_name("human|json|none")
      ->capture_default_str();
}

Result<AskedPolicy> policy_from_options(const std::string& policy,
                                        const std::string& user_timeout) {
  AskedPolicy asked;
  if (!policy.empty()) {
    auto parsed = parse_policy(policy);
    if (!parsed) return invalid_argument("--policy: " + parsed.error().message);
    asked.policy = *parsed;
  }
  if (!user_timeout.empty()) {
    auto ut = parse_user_timeout(user_timeout);
    if (!ut) return invalid_argument("--user-timeout: " + ut.error().message);
    if (!asked.policy) asked.policy = Policy{};
    asked.policy->user_timeout = *ut;
    if (auto valid = validate_policy(*asked.policy); !valid) {
      return invalid_argument("--user-timeout: " + valid.error().message);
    }
  }
  if (!asked.policy) return asked;
  auto system = read_system_defaults();
  if (!system) return system.error();
  auto resolved = resolve(*asked.policy, *system);
  if (!resolved) return invalid_argument("--policy: " + resolved.error().message);
  asked.resolved = *resolved;
  return asked;
}

}  // namespace tcpka::tools
