#include "tcpka/policy_warnings.h"

#include "kernel_timers.h"

namespace tcpka {
namespace {

void keepalive_warnings(const Policy& asked, const ResolvedPolicy& policy,
                        std::vector<PolicyWarning>& warnings) {
  const Millis give_up = policy.idle + policy.interval * policy.count;
  if (policy.idle > kMiddleboxIdleTimeout) {
    const std::string source = asked.idle ? "idle=" : "idle (the system's tcp_keepalive_time) ";
    warnings.push_back(
        {"idle_above_middlebox",
         source + format_seconds(policy.idle) +
             " is longer than middleboxes keep a silent flow (Azure load balancer 4m, AWS NLB "
             "350s): a NAT may forget the connection before the first probe; a dead idle peer "
             "is found only after " +
             format_seconds(give_up)});
  }
  if (policy.user_timeout == Millis(0)) return;

  const detail::Expiry expiry =
      detail::keepalive_expiry({policy.idle, policy.interval, policy.count, policy.user_timeout});
  if (expiry.attempts == 1 && policy.count > 1) {
    warnings.push_back(
        {"single_probe",
         "ut=" + format_seconds(policy.user_timeout) + " is not longer than idle+intvl (" +
             format_seconds(policy.idle + policy.interval) +
             "): Linux ends an idle connection after its first unanswered probe, so one lost "
             "packet kills a healthy connection; use ut=auto"});
  } else if (expiry.attempts != policy.count) {
    warnings.push_back(
        {"count_ignored", "ut=" + format_seconds(policy.user_timeout) +
                              " overrides cnt=" + std::to_string(policy.count) +
                              ": an idle dead peer gets " + std::to_string(expiry.attempts) +
                              " probes and is found after " + format_seconds(expiry.at) +
                              ", not idle+intvl*cnt = " + format_seconds(give_up) +
                              "; use ut=auto to pair them"});
  }
}

}  // namespace

std::vector<PolicyWarning> policy_warnings(const Policy& asked, const SystemDefaults& system) {
  std::vector<PolicyWarning> warnings;
  auto resolved = resolve(asked, system);
  if (!resolved) return warnings;  // an invalid policy has an error, not warnings
  const ResolvedPolicy& policy = *resolved;

  if (!policy.keepalive) {
    warnings.push_back({"keepalive_off",
                        "keepalive is off: an idle connection to a crashed or unplugged host "
                        "is never detected"});
  } else {
    keepalive_warnings(asked, policy, warnings);
  }

  if (policy.user_timeout == Millis(0)) {
    const Millis retransmit_bound =
        detail::model_timeout(system.retries2, detail::kTcpRtoMinConstant, system.rto_max);
    warnings.push_back({"no_user_timeout",
                        "no TCP_USER_TIMEOUT: a peer that dies while data is unacknowledged "
                        "is found only after tcp_retries2=" +
                            std::to_string(system.retries2) + " retransmissions, " +
                            format_seconds(retransmit_bound) + "; add ut=auto"});
  } else if (!policy.keepalive) {
    warnings.push_back({"user_timeout_without_keepalive",
                        "ut=" + format_seconds(policy.user_timeout) +
                            " without keepalive bounds only connections with unacknowledged "
                            "data: an idle dead peer is never detected"});
  }
  return warnings;
}

}  // namespace tcpka
