// The portable half of apply_policy and read_policy: validation, the socket check and
// ut=auto. The platform half is in src/lib/<platform>/socket_options.cpp.
#include "tcpka/socket_options.h"

#include "platform.h"
#include "policy_rules.h"

namespace tcpka {
namespace {

// ut=auto pairs the user timeout with the keepalive timings the socket will have once
// `policy` is applied: its own where it gives them, the socket's current ones (which
// may be inherited from a listener or the system's) where it does not.
Result<Policy> with_automatic_user_timeout(NativeSocket socket, const Policy& policy) {
  auto current = detail::read_from_socket(socket);
  if (!current) return current.error();
  auto user_timeout = detail::automatic_user_timeout(
      policy.idle.value_or(current->idle), policy.interval.value_or(current->interval),
      policy.count.value_or(current->count), platform_limits());
  if (!user_timeout) return user_timeout.error();
  Policy concrete = policy;
  concrete.user_timeout = UserTimeout::fixed(*user_timeout);
  return concrete;
}

}  // namespace

Result<void> apply_policy(NativeSocket socket, const Policy& policy) {
  if (auto valid = validate_policy(policy); !valid) return valid;
  if (auto tcp = detail::check_tcp_socket(socket); !tcp) return tcp;
  if (policy.user_timeout.mode != UserTimeout::Mode::automatic) {
    return detail::apply_to_socket(socket, policy);
  }
  auto concrete = with_automatic_user_timeout(socket, policy);
  if (!concrete) return concrete.error();
  return detail::apply_to_socket(socket, *concrete);
}

Result<ResolvedPolicy> read_policy(NativeSocket socket) {
  if (auto tcp = detail::check_tcp_socket(socket); !tcp) return tcp.error();
  return detail::read_from_socket(socket);
}

}  // namespace tcpka
