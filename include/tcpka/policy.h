// A keepalive policy: what to ask of a socket's kernel to notice a dead peer.
//
// Text forms, all read by parse_policy:
//   idle=10s,intvl=5s,cnt=5,ut=auto   keys: idle, intvl|interval, cnt|count, ut|user_timeout
//   10:5:5  30m::10  :5:               nginx's so_keepalive: idle:intvl:cnt, empty = system's
//   off   on   off,ut=30s  10:5:5,ut=auto
// A number without a unit is seconds, except for ut, which needs a unit because the
// kernel's own unit for it is milliseconds. ut=auto means idle + intvl * cnt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tcpka/duration.h"
#include "tcpka/result.h"
#include "tcpka/system_defaults.h"

namespace tcpka {

// TCP_USER_TIMEOUT as asked: the longest time sent data may stay unacknowledged (and,
// with keepalive, the longest an idle connection may go unanswered) before the kernel
// ends the connection with ETIMEDOUT.
struct UserTimeout {
  enum class Mode {
    unset,      // leave the socket's value alone (the kernel's default is off)
    off,        // set 0: retransmissions are bounded by tcp_retries2 instead
    automatic,  // idle + interval * count, the pairing that keeps keepalive's meaning
    fixed,      // `value`
  };

  Mode mode = Mode::unset;
  Millis value{0};  // meaningful when mode == fixed

  static UserTimeout off() { return {Mode::off, Millis(0)}; }
  static UserTimeout automatic() { return {Mode::automatic, Millis(0)}; }
  static UserTimeout fixed(Millis value) { return {Mode::fixed, value}; }

  bool operator==(const UserTimeout&) const = default;
};

// The four keepalive numbers and the user timeout. An empty field means "the system's
// default" when applying, and "cannot be read on this platform" when reading back.
struct Policy {
  bool keepalive = true;           // SO_KEEPALIVE
  std::optional<Millis> idle;      // TCP_KEEPIDLE: silence before the first probe
  std::optional<Millis> interval;  // TCP_KEEPINTVL: between unanswered probes
  std::optional<int> count;        // TCP_KEEPCNT: unanswered probes before giving up
  UserTimeout user_timeout;        // TCP_USER_TIMEOUT

  bool operator==(const Policy&) const = default;
};

// A policy with every field decided: what a socket would have in force.
struct ResolvedPolicy {
  bool keepalive = false;
  Millis idle{0};
  Millis interval{0};
  int count = 0;
  Millis user_timeout{0};  // zero: off

  bool operator==(const ResolvedPolicy&) const = default;
};

// The ranges a platform accepts, used to reject a policy before it reaches a socket.
struct PolicyLimits {
  std::string_view platform;
  Millis min_idle, max_idle;
  Millis min_interval, max_interval;
  Millis timing_granularity;  // idle and interval must be whole multiples of this
  int min_count, max_count;
  Millis max_user_timeout;
  // The platform's names for the options, used in error messages.
  std::string_view idle_option, interval_option, count_option, user_timeout_option;
};

// Linux: TCP_KEEPIDLE and TCP_KEEPINTVL 1..32767 s (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL),
// TCP_KEEPCNT 1..127 (MAX_TCP_KEEPCNT), TCP_USER_TIMEOUT 0..INT_MAX ms.
extern const PolicyLimits kLinuxLimits;

// The limits of the platform this library was built for.
const PolicyLimits& platform_limits();

// Parses any of the forms above and validates the result against `limits`.
Result<Policy> parse_policy(std::string_view text, const PolicyLimits& limits = platform_limits());

// Checks every given field against `limits`; the error names the field, the value and
// the allowed range.
Result<void> validate_policy(const Policy& policy, const PolicyLimits& limits = platform_limits());

// The canonical text form, which parse_policy reads back to an equal Policy:
// "idle=10s,intvl=5s,cnt=5,ut=auto", "on", "off", "off,ut=30s".
std::string to_string(const Policy& policy);
std::string to_string(const ResolvedPolicy& policy);

// Fills every empty field from `system` and computes ut=auto. Fails when ut=auto comes
// out above the platform's maximum user timeout.
Result<ResolvedPolicy> resolve(const Policy& policy, const SystemDefaults& system,
                               const PolicyLimits& limits = platform_limits());

}  // namespace tcpka
