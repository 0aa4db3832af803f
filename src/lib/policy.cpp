// Policy validation, text form and resolution against the system's defaults.
#include "tcpka/policy.h"

#include <climits>
#include <cstdint>
#include <string>

#include "policy_rules.h"

namespace tcpka {

// The limits of every platform are data about it, not code that runs on it: they live
// here so that a policy can be checked for a platform other than the one running.
const PolicyLimits kLinuxLimits{
    .platform = "Linux",
    .min_idle = Millis(1'000),
    .max_idle = Millis(32'767'000),
    .min_interval = Millis(1'000),
    .max_interval = Millis(32'767'000),
    .timing_granularity = Millis(1'000),
    .min_count = 1,
    .max_count = 127,
    .max_user_timeout = Millis(INT_MAX),
    .user_timeout_granularity = Millis(1),
    .idle_option = "TCP_KEEPIDLE",
    .interval_option = "TCP_KEEPINTVL",
    .count_option = "TCP_KEEPCNT",
    .user_timeout_option = "TCP_USER_TIMEOUT",
};

// The timings' maximum is what SIO_KEEPALIVE_VALS can carry (a ULONG of milliseconds), so
// that a policy valid here is valid on either of Windows' paths. TCP_KEEPCNT: "It is
// illegal to set TCP_KEEPCNT to a value greater than 255" (IPPROTO_TCP socket options).
const PolicyLimits kWindowsLimits{
    .platform = "Windows",
    .min_idle = Millis(1'000),
    .max_idle = Millis(4'294'967'000),
    .min_interval = Millis(1'000),
    .max_interval = Millis(4'294'967'000),
    .timing_granularity = Millis(1'000),
    .min_count = 1,
    .max_count = 255,
    .max_user_timeout = Millis(std::int64_t{INT_MAX} * 1'000),
    .user_timeout_granularity = Millis(1'000),
    .idle_option = "TCP_KEEPIDLE",
    .interval_option = "TCP_KEEPINTVL",
    .count_option = "TCP_KEEPCNT",
    .user_timeout_option = "TCP_MAXRT",
};

// XNU (bsd/netinet/tcp_usrreq.c, tcp_ctloutput) accepts idle and interval up to
// UINT32_MAX / TCP_RETRANSHZ seconds, but compares its timers as signed 32-bit
// milliseconds, so anything from 2^31 ms on fires at once: the maximum here is below it.
// TCP_KEEPCNT accepts 0..INT32_MAX (1 is the least that means anything);
// TCP_RXT_CONNDROPTIME takes seconds and is multiplied by 1000 in an int.
const PolicyLimits kDarwinLimits{
    .platform = "macOS",
    .min_idle = Millis(1'000),
    .max_idle = Millis(2'147'483'000),
    .min_interval = Millis(1'000),
    .max_interval = Millis(2'147'483'000),
    .timing_granularity = Millis(1'000),
    .min_count = 1,
    .max_count = INT_MAX,
    .max_user_timeout = Millis(2'147'483'000),
    .user_timeout_granularity = Millis(1'000),
    .idle_option = "TCP_KEEPALIVE",
    .interval_option = "TCP_KEEPINTVL",
    .count_option = "TCP_KEEPCNT",
    .user_timeout_option = "TCP_RXT_CONNDROPTIME",
};

namespace {

Result<void> check_timing(std::string_view key, Millis value, Millis min, Millis max,
                          std::string_view option, const PolicyLimits& limits) {
  const auto given = [&] { return std::string(key) + "=" + format_duration(value); };
  if (value < min || value > max) {
    return invalid_argument(given() + " is out of range: " + std::string(option) + " accepts " +
                            format_duration(min) + ".." + format_duration(max));
  }
  const Millis grain = limits.timing_granularity;
  if (value % grain != Millis(0)) {
    const Millis below = value - value % grain;
    const Millis above = below + grain;
    const std::string unit =
        grain == Millis(1'000) ? "whole seconds" : "whole multiples of " + format_duration(grain);
    return invalid_argument(given() + ": " + std::string(limits.platform) + " sets " +
                            std::string(option) + " in " + unit + " (try " +
                            format_duration(below < min ? above : below) + " or " +
                            format_duration(above) + ")");
  }
  return {};
}

}  // namespace

namespace detail {

Result<Millis> automatic_user_timeout(Millis idle, Millis interval, int count,
                                      const PolicyLimits& limits) {
  const Millis value = idle + interval * count;
  if (value > limits.max_user_timeout) {
    return invalid_argument("ut=auto is idle+intvl*cnt = " + format_duration(value) + ", above " +
                            std::string(limits.user_timeout_option) + "'s maximum " +
                            format_duration(limits.max_user_timeout));
  }
  return value;
}

}  // namespace detail

Result<void> validate_policy(const Policy& policy, const PolicyLimits& limits) {
  if (policy.idle) {
    auto r = check_timing("idle", *policy.idle, limits.min_idle, limits.max_idle,
                          limits.idle_option, limits);
    if (!r) return r;
  }
  if (policy.interval) {
    auto r = check_timing("intvl", *policy.interval, limits.min_interval, limits.max_interval,
                          limits.interval_option, limits);
    if (!r) return r;
  }
  if (policy.count && (*policy.count < limits.min_count || *policy.count > limits.max_count)) {
    return invalid_argument("cnt=" + std::to_string(*policy.count) +
                            " is out of range: " + std::string(limits.count_option) + " accepts " +
                            std::to_string(limits.min_count) + ".." +
                            std::to_string(limits.max_count));
  }
  const UserTimeout& ut = policy.user_timeout;
  if (ut.mode == UserTimeout::Mode::fixed &&
      (ut.value < Millis(0) || ut.value > limits.max_user_timeout)) {
    return invalid_argument("ut=" + format_duration(ut.value) +
                            " is out of range: " + std::string(limits.user_timeout_option) +
                            " accepts 0.." + format_duration(limits.max_user_timeout));
  }
  const Millis ut_grain = limits.user_timeout_granularity;
  if (ut.mode == UserTimeout::Mode::fixed && ut.value % ut_grain != Millis(0)) {
    return invalid_argument("ut=" + format_duration(ut.value) + ": " +
                            std::string(limits.platform) + " sets " +
                            std::string(limits.user_timeout_option) + " in whole multiples of " +
                            format_duration(ut_grain));
  }
  if (ut.mode == UserTimeout::Mode::automatic && policy.keepalive == false) {
    return invalid_argument(
        "ut=auto pairs the user timeout with keepalive's timings; with keepalive off, give "
        "ut a duration");
  }
  // With every timing given, ut=auto can be checked now; otherwise resolve() checks it.
  if (ut.mode == UserTimeout::Mode::automatic && policy.idle && policy.interval && policy.count) {
    auto value =
        detail::automatic_user_timeout(*policy.idle, *policy.interval, *policy.count, limits);
    if (!value) return value.error();
  }
  return {};
}

std::string to_string(const UserTimeout& ut) {
  switch (ut.mode) {
    case UserTimeout::Mode::unset:
      return "";
    case UserTimeout::Mode::off:
      return "off";
    case UserTimeout::Mode::automatic:
      return "auto";
    case UserTimeout::Mode::fixed:
      return format_duration(ut.value);
  }
  return "";
}

namespace {

void append_item(std::string& text, const std::string& item) {
  if (!text.empty()) text += ',';
  text += item;
}

}  // namespace

std::string to_string(const Policy& policy) {
  std::string text;
  const bool timings = policy.idle || policy.interval || policy.count;
  if (policy.keepalive == false) append_item(text, "off");
  if (policy.keepalive == true && !timings) append_item(text, "on");
  if (policy.idle) append_item(text, "idle=" + format_duration(*policy.idle));
  if (policy.interval) append_item(text, "intvl=" + format_duration(*policy.interval));
  if (policy.count) append_item(text, "cnt=" + std::to_string(*policy.count));
  if (policy.user_timeout.mode != UserTimeout::Mode::unset) {
    append_item(text, "ut=" + to_string(policy.user_timeout));
  }
  return text;
}

std::string to_string(const ResolvedPolicy& policy) {
  const std::string ut = "ut=" + to_string(UserTimeout::fixed(policy.user_timeout));
  if (!policy.keepalive) return "off," + ut;
  return "idle=" + format_duration(policy.idle) + ",intvl=" + format_duration(policy.interval) +
         ",cnt=" + std::to_string(policy.count) + "," + ut;
}

Result<ResolvedPolicy> resolve(const Policy& policy, const SystemDefaults& system,
                               const PolicyLimits& limits) {
  if (auto valid = validate_policy(policy, limits); !valid) return valid.error();
  ResolvedPolicy resolved;
  resolved.keepalive = policy.keepalive.value_or(false);
  resolved.idle = policy.idle.value_or(system.keepalive_time);
  resolved.interval = policy.interval.value_or(system.keepalive_interval);
  resolved.count = policy.count.value_or(system.keepalive_probes);
  switch (policy.user_timeout.mode) {
    case UserTimeout::Mode::unset:
    case UserTimeout::Mode::off:
      resolved.user_timeout = Millis(0);
      break;
    case UserTimeout::Mode::fixed:
      resolved.user_timeout = policy.user_timeout.value;
      break;
    case UserTimeout::Mode::automatic: {
      auto value =
          detail::automatic_user_timeout(resolved.idle, resolved.interval, resolved.count, limits);
      if (!value) return value.error();
      resolved.user_timeout = *value;
      break;
    }
  }
  return resolved;
}

}  // namespace tcpka
