// parse_policy: the three text forms of a Policy (see tcpka/policy.h).
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcpka/policy.h"

namespace tcpka {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// A Policy under construction, remembering which item set each field so that a field
// given twice is an error rather than a silent override.
class PolicyBuilder {
 public:
  Result<void> item(std::string_view item) {
    if (item == "on" || item == "off") return set_switch(item == "on", item);
    if (const auto equals = item.find('='); equals != std::string_view::npos) {
      return key_value(trim(item.substr(0, equals)), trim(item.substr(equals + 1)), item);
    }
    if (item.find(':') != std::string_view::npos) return nginx_triple(item);
    return invalid_argument(
        "unknown item '" + printable(item) +
        "': expected key=value (idle, intvl, cnt, ut), idle:intvl:cnt, on or off");
  }

  Result<Policy> finish() const {
    Policy policy = policy_;
    // Asking for timings, or for nginx's so_keepalive, is asking for keepalive.
    const bool wants_keepalive = nginx_given_ || policy.idle || policy.interval || policy.count;
    if (policy.keepalive == false && wants_keepalive) {
      return invalid_argument(
          "'off' turns keepalive off, so idle, intvl and cnt cannot be given with it");
    }
    if (wants_keepalive) policy.keepalive = true;
    return policy;
  }

 private:
  Result<void> set_switch(bool on, std::string_view item) {
    if (switch_given_) {
      return invalid_argument("'on' or 'off' given twice (second: '" + printable(item) + "')");
    }
    switch_given_ = true;
    policy_.keepalive = on;
    return {};
  }

  Result<void> key_value(std::string_view key, std::string_view value, std::string_view item) {
    if (key == "idle") return set_duration(policy_.idle, "idle", value);
    if (key == "intvl" || key == "interval") return set_duration(policy_.interval, "intvl", value);
    if (key == "cnt" || key == "count") return set_count("cnt", value);
    if (key == "ut" || key == "user_timeout") return set_user_timeout(value);
    return invalid_argument("unknown key '" + printable(key) + "' in '" + printable(item) +
                            "' (keys: idle, intvl, cnt, ut)");
  }

  // nginx's so_keepalive=idle:intvl:cnt, where an empty part keeps the system's value.
  Result<void> nginx_triple(std::string_view item) {
    const auto parts = split(item, ':');
    nginx_given_ = true;
    if (parts.size() != 3) {
      return invalid_argument("'" + printable(item) +
                              "' is not nginx's idle:intvl:cnt form (it needs exactly two colons)");
    }
    if (!parts[0].empty()) {
      if (auto r = set_duration(policy_.idle, "idle", parts[0]); !r) return r;
    }
    if (!parts[1].empty()) {
      if (auto r = set_duration(policy_.interval, "intvl", parts[1]); !r) return r;
    }
    if (!parts[2].empty()) {
      if (auto r = set_count("cnt", parts[2]); !r) return r;
    }
    return {};
  }

  static Error given_twice(std::string_view key) {
    return invalid_argument(std::string(key) + " given twice");
  }

  static Result<void> set_duration(std::optional<Millis>& field, std::string_view key,
                                   std::string_view value) {
    if (field) return given_twice(key);
    auto duration = parse_duration(value);
    if (!duration) return invalid_argument(std::string(key) + ": " + duration.error().message);
    field = *duration;
    return {};
  }

  Result<void> set_count(std::string_view key, std::string_view value) {
    if (policy_.count) return given_twice(key);
    int count = 0;
    const auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), count);
    if (status != std::errc() || end != value.data() + value.size()) {
      return invalid_argument(std::string(key) + "=" + printable(value) +
                              ": expected a whole number of probes");
    }
    policy_.count = count;
    return {};
  }

  Result<void> set_user_timeout(std::string_view value) {
    if (policy_.user_timeout.mode != UserTimeout::Mode::unset) return given_twice("ut");
    auto user_timeout = parse_user_timeout(value);
    if (!user_timeout) return invalid_argument("ut: " + user_timeout.error().message);
    policy_.user_timeout = *user_timeout;
    return {};
  }

  Policy policy_;
  bool switch_given_ = false;
  bool nginx_given_ = false;
};

Result<Policy> parse_syntax(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed.empty()) {
    return invalid_argument(
        "the policy is empty: write e.g. idle=10s,intvl=5s,cnt=5,ut=auto, "
        "10:5:5, on or off");
  }
  PolicyBuilder builder;
  for (std::string_view raw : split(trimmed, ',')) {
    const std::string_view item = trim(raw);
    if (item.empty()) {
      return invalid_argument("empty item in '" + printable(trimmed) + "'");
    }
    if (auto added = builder.item(item); !added) return added.error();
  }
  return builder.finish();
}

}  // namespace

// ut takes auto, off, or a duration with a unit: TCP_USER_TIMEOUT itself is in
// milliseconds, so a bare "30000" is too easily meant as 30 s to guess at.
Result<UserTimeout> parse_user_timeout(std::string_view text) {
  if (text == "auto") return UserTimeout::automatic();
  if (text == "off" || text == "0") return UserTimeout::off();
  auto duration = parse_duration(text, BareNumber::rejected);
  if (!duration) return duration.error();
  return UserTimeout::fixed(*duration);
}

Result<Policy> parse_policy(std::string_view text, const PolicyLimits& limits) {
  auto policy = parse_syntax(text);
  if (!policy) return policy;
  if (auto valid = validate_policy(*policy, limits); !valid) return valid.error();
  return policy;
}

}  // namespace tcpka
