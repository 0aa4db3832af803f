// The portable half of apply_policy and read_policy: validation, the socket check and
// ut=auto. The platform half is in src/lib/<platform>/socket_options.cpp.
#include "tcpka/socket_options.h"

#include "platform.h"
#include "policy_rules.h"

namespace tcpka {
namespace {

// The timing ut=auto pairs with: the policy's own where it gives it, the socket's
// current one (inherited from a listener, or the system's) where it does not.
template <class T>
Result<T> timing_for_auto(const std::optional<T>& asked, const std::optional<T>& current,
                          std::string_view key, const PolicyReading& reading) {
  if (asked) return *asked;
  if (current) return *current;
  return invalid_argument("ut=auto needs " + std::string(key) + ": give it in the policy (" +
                          reading.unreadable + ")");
}

Result<Policy> with_automatic_user_timeout(NativeSocket socket, const Policy& policy) {
  auto current = detail::read_from_socket(socket);
  if (!current) return current.error();
  auto idle = timing_for_auto(policy.idle, current->idle, "idle", *current);
  if (!idle) return idle.error();
  auto interval = timing_for_auto(policy.interval, current->interval, "intvl", *current);
  if (!interval) return interval.error();
  auto count = timing_for_auto(policy.count, current->count, "cnt", *current);
  if (!count) return count.error();
  auto user_timeout = detail::automatic_user_timeout(*idle, *interval, *count, platform_limits());
  if (!user_timeout) return user_timeout.error();
  Policy concrete = policy;
  concrete.user_timeout = UserTimeout::fixed(*user_timeout);
  return concrete;
}

}  // namespace

Result<Applied> apply_policy(NativeSocket socket, const Policy& policy,
                             const ApplyOptions& options) {
  if (auto valid = validate_policy(policy); !valid) return valid.error();
  if (auto tcp = detail::check_tcp_socket(socket); !tcp) return tcp.error();
  if (policy.user_timeout.mode != UserTimeout::Mode::automatic) {
    return detail::apply_to_socket(socket, policy, options);
  }
  auto concrete = with_automatic_user_timeout(socket, policy);
  if (!concrete) return concrete.error();
  return detail::apply_to_socket(socket, *concrete, options);
}

Result<PolicyReading> read_back(NativeSocket socket) {
  if (auto tcp = detail::check_tcp_socket(socket); !tcp) return tcp.error();
  return detail::read_from_socket(socket);
}

Result<ResolvedPolicy> read_policy(NativeSocket socket) {
  auto reading = read_back(socket);
  if (!reading) return reading.error();
  if (!reading->complete()) {
    return Error{std::make_error_code(std::errc::operation_not_supported),
                 "cannot read every field back: " + reading->unreadable};
  }
  return ResolvedPolicy{*reading->keepalive, *reading->idle, *reading->interval, *reading->count,
                        *reading->user_timeout};
}

}  // namespace tcpka
