// Durations as people write them: "250ms", "10s", "1.5s", "5m", "2h", "1m30s".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "tcpka/result.h"

namespace tcpka {

// Every duration in tcpka is whole milliseconds: the finest unit any platform's
// keepalive or user-timeout option accepts.
using Millis = std::chrono::milliseconds;

// What a number without a unit means.
enum class BareNumber {
  seconds,   // "10" is 10s, as in nginx's so_keepalive and the sysctls
  rejected,  // a unit is required (used where the kernel's own unit is not seconds)
};

// Parses one or more <number><unit> parts (units ms, s, m, h; a number may have a
// fraction, "1.5s"). Rejects negative values, values finer than a millisecond and
// values above about 31 years.
Result<Millis> parse_duration(std::string_view text, BareNumber bare = BareNumber::seconds);

// The exact, shortest form that parse_duration reads back: "2h", "30m", "75s", "1500ms".
std::string format_duration(Millis duration);

// Seconds with up to three decimals and no trailing zeros, for reporting measured or
// predicted times: "924.6s", "35s", "0.004s".
std::string format_seconds(Millis duration);

}  // namespace tcpka
