// Linux's TCP give-up timers as pure functions of their inputs: when does the kernel
// stop trying, and how many attempts did it make? Each function replays the timer's
// loop from net/ipv4/tcp_timer.c instead of using a closed form, so that the doubling,
// the cap, the SYN's linear rounds and the user-timeout clamp interact as they do in
// the kernel.
#pragma once

#include <climits>
#include <optional>

#include "tcpka/duration.h"

namespace tcpka::detail {

// TCP_RTO_MIN: the base of the kernel's time bound for unacknowledged data. It is a
// constant even where the tcp_rto_min_us sysctl changes the real minimum RTO.
inline constexpr Millis kTcpRtoMinConstant{200};

// tcp_model_timeout(): the time `boundary` retransmissions take when the first timeout
// is `rto_base` and each one doubles up to `rto_max`. With 15, 200 ms, 120 s: 924.6 s.
Millis model_timeout(int boundary, Millis rto_base, Millis rto_max);

// When a timer loop gives up, and how many unanswered attempts it made before.
struct Expiry {
  Millis at{0};
  int attempts = 0;
};

// tcp_retransmit_timer() and tcp_write_timeout() for a segment sent at time zero that
// is never answered. The kernel measures its time bound from retrans_stamp: for data,
// the first timer-driven retransmission (the tail-loss probe before it does not count);
// for a SYN, the first SYN.
struct RetransmissionRules {
  Millis first_retransmission{200};  // when the first timer-driven retransmission leaves
  bool bound_counts_from_first_retransmission = true;  // false: from time zero (SYN)
  Millis rto{200};  // the timeout in force then; it doubles after each
  Millis rto_max{120'000};
  int linear_rounds = 0;                    // SYN_SENT: tcp_syn_linear_timeouts
  int max_retransmissions = INT_MAX;        // SYN_SENT: tcp_syn_retries + linear_rounds
  Millis time_bound{0};                     // model_timeout(...), or the user timeout
  bool time_bound_is_user_timeout = false;  // the kernel clamps its timer to it
};
Expiry retransmission_expiry(const RetransmissionRules& rules);

// tcp_probe_timer() from the moment the peer's window shut (time zero).
struct WindowProbeRules {
  Millis first_timeout{200};  // tcp_probe0_base(): max(RTO, TCP_RTO_MIN)
  Millis rto_max{120'000};
  int max_unanswered = 15;    // tcp_retries2
  bool peer_answers = false;  // a live peer's answers reset the unanswered count
  Millis user_timeout{0};     // zero: none
};
// Empty when the kernel never gives up (a live peer and no user timeout).
std::optional<Expiry> window_probe_expiry(const WindowProbeRules& rules);

// tcp_keepalive_timer() from the last segment received (time zero), for a peer that
// never answers. `attempts` is the number of probes sent.
struct KeepaliveRules {
  Millis idle{7'200'000};
  Millis interval{75'000};
  int count = 9;
  Millis user_timeout{0};  // zero: none
};
Expiry keepalive_expiry(const KeepaliveRules& rules);

}  // namespace tcpka::detail
