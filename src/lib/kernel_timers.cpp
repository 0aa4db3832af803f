#include "kernel_timers.h"

#include <algorithm>
#include <bit>
#include <cstdint>

namespace tcpka::detail {
namespace {

// The smallest delay a re-armed kernel timer takes (TCP_TIMEOUT_MIN is two jiffies; the
// model does not know HZ and uses a millisecond, well inside the tolerance).
constexpr Millis kImmediately{1};

int floor_log2(std::int64_t value) {
  return value <= 0 ? 0 : static_cast<int>(std::bit_width(static_cast<std::uint64_t>(value))) - 1;
}

}  // namespace

Millis model_timeout(int boundary, Millis rto_base, Millis rto_max) {
  const int linear_backoff_threshold = floor_log2(rto_max / rto_base);
  if (boundary <= linear_backoff_threshold) {
    return ((std::int64_t{2} << boundary) - 1) * rto_base;
  }
  return ((std::int64_t{2} << linear_backoff_threshold) - 1) * rto_base +
         (boundary - linear_backoff_threshold) * rto_max;
}

Expiry retransmission_expiry(const RetransmissionRules& rules) {
  Millis now = rules.first_retransmission;
  const Millis stamp = rules.bound_counts_from_first_retransmission ? now : Millis(0);
  Millis rto = std::max(rules.rto, kImmediately);  // a zero RTO would never advance time
  int retransmissions = 0;
  while (true) {
    // tcp_write_timeout(), which runs at each fire before retransmitting.
    if (retransmissions >= rules.max_retransmissions) return {now, retransmissions};
    if (retransmissions > 0 && now - stamp >= rules.time_bound) return {now, retransmissions};
    ++retransmissions;
    if (retransmissions > rules.linear_rounds) rto = std::min(rto * 2, rules.rto_max);
    Millis wait = rto;
    if (rules.time_bound_is_user_timeout) {
      // tcp_clamp_rto_to_user_timeout(): never sleep past the user timeout.
      const Millis remaining = rules.time_bound - (now - stamp);
      wait = remaining > Millis(0) ? std::min(rto, remaining) : kImmediately;
    }
    // Once the timeout is capped the fires are evenly spaced: skip to the last one
    // before the bound instead of replaying days of user timeout one fire at a time.
    if (rto == rules.rto_max && wait == rto) {
      const std::int64_t before_bound = (rules.time_bound - (now - stamp)) / rto - 1;
      const std::int64_t before_count =
          std::int64_t{rules.max_retransmissions} - retransmissions - 1;
      const std::int64_t skipped = std::min(before_bound, before_count);
      if (skipped > 0) {
        now += skipped * rto;
        retransmissions += static_cast<int>(skipped);
      }
    }
    now += wait;
  }
}

std::optional<Expiry> window_probe_expiry(const WindowProbeRules& rules) {
  const bool has_user_timeout = rules.user_timeout > Millis(0);
  if (rules.peer_answers && !has_user_timeout) return std::nullopt;

  const Millis base = std::max(rules.first_timeout, kImmediately);
  Millis now = base;
  const Millis first_probe = now;  // icsk_probes_tstamp: the first run of the timer
  int unanswered = 0;
  int backoff = 0;
  while (true) {
    if (has_user_timeout && now > first_probe && now - first_probe >= rules.user_timeout) {
      return Expiry{now, unanswered};
    }
    if (!rules.peer_answers && unanswered >= rules.max_unanswered) {
      return Expiry{now, unanswered};
    }
    // tcp_send_probe0(): one more probe, and a doubled wait (the backoff stops growing
    // at tcp_retries2, the wait at rto_max).
    if (!rules.peer_answers) ++unanswered;
    if (backoff < rules.max_unanswered) ++backoff;
    Millis wait =
        std::min(rules.first_timeout * (std::int64_t{1} << std::min(backoff, 30)), rules.rto_max);
    if (has_user_timeout) {
      // tcp_clamp_probe0_to_user_timeout().
      const Millis remaining = rules.user_timeout - (now - first_probe);
      wait = std::min(wait, std::max(remaining, kImmediately));
    }
    now += wait;
  }
}

Expiry keepalive_expiry(const KeepaliveRules& rules) {
  const Millis interval = std::max(rules.interval, kImmediately);
  if (rules.user_timeout <= Millis(0)) {
    return {rules.idle + interval * rules.count, rules.count};
  }
  // The timer runs at idle + k * interval and ends the connection at the first run with
  // at least one probe out (k >= 1) and idle + k * interval >= the user timeout.
  std::int64_t probes = 1;
  if (rules.user_timeout > rules.idle + interval) {
    const Millis beyond_idle = rules.user_timeout - rules.idle;
    probes = (beyond_idle + interval - Millis(1)) / interval;
  }
  return {rules.idle + interval * probes, static_cast<int>(probes)};
}

}  // namespace tcpka::detail
