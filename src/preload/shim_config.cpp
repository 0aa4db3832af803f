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

Error libkeepalive_error(const std::string& message) {
  return invalid_argument("libkeepalive variables: " + message);
}

// libkeepalive's KEEPIDLE, KEEPINTVL and KEEPCNT (whole seconds and a count) and
// KEEPALIVE=off, as a policy. With none of them set, libkeepalive turns keepalive on
// with the system's timings: so does this. Each variable is read as its one field:
// pasted into a policy's text, KEEPIDLE=5,ut=1s would have set a user timeout too.
Result<Policy> libkeepalive_policy(const Environment& environment) {
  Policy policy;
  policy.keepalive = get(environment, "KEEPALIVE") != "off";
  if (!*policy.keepalive) return policy;
  for (const auto& [variable, field] :
       {std::pair{"KEEPIDLE", &Policy::idle}, std::pair{"KEEPINTVL", &Policy::interval}}) {
    const std::string_view value = get(environment, variable);
    if (value.empty()) continue;
    auto duration = parse_duration(value);
    if (!duration) return libkeepalive_error(variable + (": " + duration.error().message));
    policy.*field = *duration;
  }
  if (const std::string_view value = get(environment, "KEEPCNT"); !value.empty()) {
    int count = 0;
    const auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), count);
    if (status != std::errc() || end != value.data() + value.size()) {
      return libkeepalive_error("KEEPCNT: '" + printable(value) +
                                "' is not a whole number of probes");
    }
    policy.count = count;
  }
  if (auto valid = validate_policy(policy); !valid) {
    return libkeepalive_error(valid.error().message);
  }
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
  // A comma promises another item: "80," is refused (an empty item), not read as "80".
  bool item_expected = !text.empty();
  while (item_expected) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    item_expected = comma != std::string_view::npos;
    text = item_expected ? text.substr(comma + 1) : std::string_view();
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
      return invalid_argument("TCPKA_PORTS: '" + printable(item) +
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
    auto asked = parse_user_timeout(text);
    if (!asked) return invalid_argument("TCPKA_USER_TIMEOUT: " + asked.error().message);
    policy.user_timeout = *asked;
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
    return invalid_argument("TCPKA_SCOPE: '" + printable(scope) +
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
