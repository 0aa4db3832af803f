// The shim's configuration from an environment made of the input's lines (NAME=VALUE,
// one variable a line): it never crashes; what it accepts is a valid policy with ut=auto
// already computed; each variable changes only the fields it is about (take it away and
// nothing else differs); and TCPKA_USER_TIMEOUT holds a user timeout and nothing more.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "preload/shim_config.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::preload::ShimConfig;

namespace {

using Variables = std::map<std::string, std::string>;

enum Field {
  kKeepalive,
  kIdle,
  kInterval,
  kCount,
  kUserTimeout,
  kScope,
  kPorts,
  kOverride,
  kDebug,
  kLog,
};

// What each variable is about. ut=auto is computed from the timings, so every timing
// owns the user timeout too.
const std::map<std::string, std::set<Field>> kOwners = {
    {"KEEPALIVE", {kKeepalive, kIdle, kInterval, kCount, kUserTimeout}},
    {"KEEPIDLE", {kIdle, kUserTimeout}},
    {"KEEPINTVL", {kInterval, kUserTimeout}},
    {"KEEPCNT", {kCount, kUserTimeout}},
    {"TCPKA_POLICY", {kKeepalive, kIdle, kInterval, kCount, kUserTimeout}},
    {"TCPKA_USER_TIMEOUT", {kUserTimeout}},
    {"TCPKA_SCOPE", {kScope}},
    {"TCPKA_PORTS", {kPorts}},
    {"TCPKA_OVERRIDE", {kOverride}},
    {"TCPKA_DEBUG", {kDebug}},
    {"TCPKA_LOG", {kLog}},
};

Variables read_variables(std::string_view text) {
  Variables variables;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string name(line.substr(0, equals));
    // A C string: the environment cannot carry a NUL.
    std::string value(line.substr(equals + 1));
    value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
    if (kOwners.contains(name)) variables.emplace(name, value);
  }
  return variables;
}

tcpka::Result<ShimConfig> load(const Variables& variables) {
  return tcpka::preload::load_shim_config([&](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

std::set<Field> differences(const ShimConfig& a, const ShimConfig& b) {
  std::set<Field> fields;
  if (a.policy.keepalive != b.policy.keepalive) fields.insert(kKeepalive);
  if (a.policy.idle != b.policy.idle) fields.insert(kIdle);
  if (a.policy.interval != b.policy.interval) fields.insert(kInterval);
  if (a.policy.count != b.policy.count) fields.insert(kCount);
  if (!(a.policy.user_timeout == b.policy.user_timeout)) fields.insert(kUserTimeout);
  if (a.scope != b.scope) fields.insert(kScope);
  if (a.every_port != b.every_port || a.ports != b.ports) fields.insert(kPorts);
  if (a.override_program != b.override_program) fields.insert(kOverride);
  if (a.debug != b.debug) fields.insert(kDebug);
  if (a.log_path != b.log_path) fields.insert(kLog);
  return fields;
}

std::string describe(const Variables& variables) {
  std::string text;
  for (const auto& [name, value] : variables)
    text += name + "='" + value + "' ";
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Variables variables = read_variables(tcpka::fuzz::as_text(data, size));
  auto config = load(variables);
  if (!config) {
    tcpka::fuzz::require_one_line(config.error().message, describe(variables));
    return 0;
  }
  const tcpka::Policy& policy = config->policy;
  require(tcpka::validate_policy(policy).ok(), "the policy set on sockets is valid",
          describe(variables));
  require(policy.user_timeout.mode != tcpka::UserTimeout::Mode::automatic,
          "ut=auto is computed at load", describe(variables));
  require(config->every_port == config->ports.none(), "ports are listed unless every port",
          describe(variables));

  if (const auto found = variables.find("TCPKA_USER_TIMEOUT");
      found != variables.end() && !found->second.empty()) {
    auto alone = tcpka::parse_policy("ut=" + found->second);
    require(alone.ok() && *alone == tcpka::Policy{.user_timeout = alone->user_timeout},
            "TCPKA_USER_TIMEOUT gives a user timeout and nothing else", describe(variables));
  }

  for (const auto& [name, value] : variables) {
    Variables without = variables;
    without.erase(name);
    auto other = load(without);
    if (!other) continue;
    for (const Field field : differences(*config, *other)) {
      require(kOwners.at(name).contains(field), "a variable changes only its own fields",
              name + " changed field " + std::to_string(field) + " in " + describe(variables));
    }
  }
  return 0;
}
