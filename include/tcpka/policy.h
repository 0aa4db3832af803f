// A keepalive policy: what to ask of a socket's kernel to notice a dead peer.
//
// Text forms, all read by parse_policy:
//   idle=10s,intvl=5s,cnt=5,ut=auto   keys: idle, intvl|interval, cnt|count, ut|user_timeout
//   10:5:5  30m::10  :5:               nginx's so_keepalive: idle:intvl:cnt, empty = system's
//   off   on   off,ut=30s  10:5:5,ut=auto  ut=30s
// A number without a unit is seconds, except for ut, which needs a unit because the
// kernel's own unit for it is milliseconds. ut=auto means idle + intvl * cnt.
// Giving idle, intvl or cnt turns keepalive on; `ut` alone leaves SO_KEEPALIVE alone.
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
  Millis value{0};  // meaningful when mode == fixed, and then positive

  static UserTimeout off() { return {Mode::off, Millis(0)}; }
  static UserTimeout automatic() { return {Mode::automatic, Millis(0)}; }
  // A zero timeout is no timeout: fixed(0) is off().
  static UserTimeout fixed(Millis value) {
    return value.count() == 0 ? off() : UserTimeout{Mode::fixed, value};
  }

  bool operator==(const UserTimeout& other) const {
    return mode == other.mode && (mode != Mode::fixed || value == other.value);
  }
};

// What to ask of a socket: the four keepalive numbers and the user timeout. An empty
// field is left as the socket has it (for a new socket, the system's default).
struct Policy {
  std::optional<bool> keepalive;   // SO_KEEPALIVE
  std::optional<Millis> idle;      // TCP_KEEPIDLE: silence before the first probe
  std::optional<Millis> interval;  // TCP_KEEPINTVL: between unanswered probes
  std::optional<int> count;        // TCP_KEEPCNT: unanswered probes before giving up
  UserTimeout user_timeout;        // TCP_USER_TIMEOUT

  bool operator==(const Policy&) const = default;
};

// Every field decided: what a socket has in force (read_policy), or would have once a
// Policy is applied to a new one (resolve).
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
  Millis user_timeout_granularity;  // the user timeout must be a whole multiple of this
  // The platform's names for the options, used in error messages.
  std::string_view idle_option, interval_option, count_option, user_timeout_option;
};

// Linux: TCP_KEEPIDLE and TCP_KEEPINTVL 1..32767 s (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL),
// TCP_KEEPCNT 1..127 (MAX_TCP_KEEPCNT), TCP_USER_TIMEOUT 0..INT_MAX ms.
extern const PolicyLimits kLinuxLimits;
// Windows 10 1709 and later: TCP_KEEPIDLE and TCP_KEEPINTVL in seconds (SIO_KEEPALIVE_VALS
// takes them as 32-bit milliseconds, hence the maximum), TCP_KEEPCNT 1..255, TCP_MAXRT
// in whole seconds.
extern const PolicyLimits kWindowsLimits;
// macOS: TCP_KEEPALIVE (idle) and TCP_KEEPINTVL in seconds, kept by XNU as 32-bit
// milliseconds; TCP_KEEPCNT; TCP_RXT_CONNDROPTIME in whole seconds for the user timeout.
extern const PolicyLimits kDarwinLimits;

// The limits of the platform this library was built for.
const PolicyLimits& platform_limits();

// Parses any of the forms above and validates the result against `limits`.
Result<Policy> parse_policy(std::string_view text, const PolicyLimits& limits = platform_limits());

// A user timeout alone, as ut= takes it: auto, off (or 0), or a duration with a unit.
// For options and variables that give only the user timeout (--user-timeout,
// TCPKA_USER_TIMEOUT): their text is this value and nothing else. Not validated against
// a platform's range: validate_policy does that once it is in a Policy.
Result<UserTimeout> parse_user_timeout(std::string_view text);

// Checks every given field against `limits`; the error names the field, the value and
// the allowed range. Also refuses ut=auto with keepalive off: there are no timings to
// pair it with.
Result<void> validate_policy(const Policy& policy, const PolicyLimits& limits = platform_limits());

// The canonical text form, which parse_policy reads back to an equal Policy:
// "idle=10s,intvl=5s,cnt=5,ut=auto", "on", "off", "off,ut=30s", "ut=30s". A policy that
// asks for nothing (which the parser never makes) is "".
std::string to_string(const Policy& policy);
std::string to_string(const ResolvedPolicy& policy);
// "auto", "off", "35s"; "" when unset.
std::string to_string(const UserTimeout& user_timeout);

// What a new socket has once `policy` is applied: empty fields from `system` (keepalive
// off, no user timeout: a new socket's defaults), ut=auto computed. Fails for a policy
// validate_policy() refuses, and when ut=auto comes out above the platform's maximum.
Result<ResolvedPolicy> resolve(const Policy& policy, const SystemDefaults& system,
                               const PolicyLimits& limits = platform_limits());

}  // namespace tcpka
