#include "socket_option.h"

#include <cassert>

namespace tcpka::detail {
namespace {

// Durations are validated against the platform's limits before they get here, so the
// narrowing to int cannot overflow.
int in_unit(Millis duration, OptionUnit unit) {
  const auto count = unit == OptionUnit::seconds ? duration.count() / 1'000 : duration.count();
  return static_cast<int>(count);
}

std::optional<int> in_unit(const std::optional<Millis>& duration, OptionUnit unit) {
  if (!duration) return std::nullopt;
  return in_unit(*duration, unit);
}

Millis from_unit(int value, OptionUnit unit) {
  return unit == OptionUnit::seconds ? Millis(std::int64_t{value} * 1'000) : Millis(value);
}

}  // namespace

std::optional<int> requested_value(const Policy& policy, const OptionDescriptor& option) {
  switch (option.field) {
    case PolicyField::keepalive:
      if (!policy.keepalive) return std::nullopt;
      return *policy.keepalive ? 1 : 0;
    case PolicyField::idle:
      return in_unit(policy.idle, option.unit);
    case PolicyField::interval:
      return in_unit(policy.interval, option.unit);
    case PolicyField::count:
      return policy.count;
    case PolicyField::user_timeout:
      switch (policy.user_timeout.mode) {
        case UserTimeout::Mode::unset:
          return std::nullopt;
        case UserTimeout::Mode::off:
          return 0;
        case UserTimeout::Mode::fixed:
          return in_unit(policy.user_timeout.value, option.unit);
        case UserTimeout::Mode::automatic:
          assert(false && "ut=auto must be computed before it reaches a socket");
          return std::nullopt;
      }
  }
  return std::nullopt;
}

void store_value(PolicyReading& settings, const OptionDescriptor& option, int value) {
  switch (option.field) {
    case PolicyField::keepalive:
      settings.keepalive = value != 0;
      return;
    case PolicyField::idle:
      settings.idle = from_unit(value, option.unit);
      return;
    case PolicyField::interval:
      settings.interval = from_unit(value, option.unit);
      return;
    case PolicyField::count:
      settings.count = value;
      return;
    case PolicyField::user_timeout:
      settings.user_timeout = from_unit(value, option.unit);
      return;
  }
}

}  // namespace tcpka::detail
