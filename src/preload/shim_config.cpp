#include "preload/shim_config.h"

#include <charconv>
#include <string_view>

#include "tcpka/system_defaults.h"

namespace tcpka::preload {
namespace {

std::string_view get(const Environment& environment, const char* name) {
  const char* value = environment(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

// libkeepalive's KEEPIDLE, KEEPINTVL and KEEPCNT (whole seconds and a count) and
// KEEPALIVE=off, as a policy. With none of them set, libkeepalive turns keepalive on
// with the system's timings: so does this.
Result<Policy> libkeepalive_policy(const Environment& environment) {
  if (get(environment, "KEEPALIVE") == "off") return parse_policy("off");
  std::string text = "on";
  for (const auto& [variable, key] :
       {std::pair{"KEEPIDLE", "idle"}, std::pair{"KEEPINTVL", "intvl"},
        std::pair{"KEEPCNT", "cnt"}}) {
    const std::string_view value = get(environment, variable);
    if (!value.empty()) text += std::string(",") + key + "=" + std::string(value);
  }
  auto policy = parse_policy(text);
  if (!policy) return invalid_argument("libkeepalive variables: " + policy.error().message);
  return policy;
}

// Each field TCPKA_POLICY gives wins over the one from libkeepalive's variables.
Policy merged(const Policy& base, const Policy& winner) {
  Policy policy = base;
  if (winner.keepalive) policy.keepalive = winner.keepalive;
  if (winner.idle) policy.idle = winner.idle;
  if (winner.interval) policy.interval = winner.interval;
  if (winner.count) policy.count = winner.count;
  if (winner.user_timeout.mode != UserTimeout::Mode::unset) {
    policy.user_timeout = winner.user_timeout;
  }
  return policy;
}

Result<void> read_ports(std::string_view text, ShimConfig& config) {
  config.every_port = text.empty();
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto dash = item.find('-');
    const std::string_view first_text = item.substr(0, dash);
    const std::string_view last_text =
        dash == std::string_view::npos ? first_text : item.substr(dash + 1);
    unsigned first = 0;
    unsigned last = 0;
    const auto a = std::from_chars(first_text.data(), first_text.data() + first_text.size(), first);
    const auto b = std::from_chars(last_text.data(), last_text.data() + last_text.size(), last);
    if (a.ec != std::errc() || a.ptr != first_text.data() + first_text.size() ||
        b.ec != std::errc() || b.ptr != last_text.data() + last_text.size() || first == 0 ||
        last > 65535 || first > last) {
      return invalid_argument("TCPKA_PORTS: '" + std::string(item) +
                              "' is not a port or range of ports (1-65535)");
    }
    for (unsigned port = first; port <= last; ++port)
      config.ports.set(port);
  }
  return {};
}

}  // namespace

Result<ShimConfig> load_shim_config(const Environment& environment) {
  ShimConfig config;
  auto base = libkeepalive_policy(environment);
  if (!base) return base.error();
  Policy policy = *base;
  if (const std::string_view text = get(environment, "TCPKA_POLICY"); !text.empty()) {
    auto asked = parse_policy(text);
    if (!asked) return invalid_argument("TCPKA_POLICY: " + asked.error().message);
    policy = merged(policy, *asked);
  }
  if (const std::string_view text = get(environment, "TCPKA_USER_TIMEOUT"); !text.empty()) {
    auto asked = parse_policy("ut=" + std::string(text));
    if (!asked) return invalid_argument("TCPKA_USER_TIMEOUT: " + asked.error().message);
    policy.user_timeout = asked->user_timeout;
  }
  if (auto valid = validate_policy(policy); !valid) return valid.error();
  // ut=auto is computed here, once, so that the hooks only set integers.
  if (policy.user_timeout.mode == UserTimeout::Mode::automatic) {
    auto system = read_system_defaults();
    if (!system) return system.error();
    auto resolved = resolve(policy, *system);
    if (!resolved) return resolved.error();
    policy.user_timeout = UserTimeout::fixed(resolved->user_timeout);
  }
  config.policy = policy;

  const std::string_view scope = get(environment, "TCPKA_SCOPE");
  if (scope == "listen") {
    config.scope = Scope::listening;
  } else if (scope == "connect") {
    config.scope = Scope::connecting;
  } else if (!scope.empty() && scope != "all") {
    return invalid_argument("TCPKA_SCOPE: '" + std::string(scope) +
                            "' is not all, listen or connect");
  }
  if (auto ports = read_ports(get(environment, "TCPKA_PORTS"), config); !ports) {
    return ports.error();
  }
  config.override_program = get(environment, "TCPKA_OVERRIDE") == "1";
  config.debug = get(environment, "TCPKA_DEBUG") == "1";
  config.log_path = std::string(get(environment, "TCPKA_LOG"));
  return config;
}

}  // namespace tcpka::preload
