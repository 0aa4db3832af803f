// predict(): one function per peer failure, each choosing the kernel timer that decides
// it for the activity at hand (see the header for the rules and kernel_timers.h for
// the timers).
#include "tcpka/detection_model.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "kernel_timers.h"

namespace tcpka {
namespace {

constexpr std::string_view kFromLastSegment = "the last segment from the peer";
constexpr std::string_view kFromFirstSend = "the first send of the unacknowledged data";
constexpr std::string_view kFromWindowShut = "the peer's window shutting";
constexpr std::string_view kFromConnect = "connect()";
constexpr std::string_view kFromFailure = "the failure";

// The RTOs the connection may have: the one measured, or every millisecond from the
// smallest (rto_min + 1 ms: the kernel's RTO is srtt + max(4 * mdev, rto_min), rounded
// up to a jiffy) to the largest (rto_min + 2 * RTT + 10 ms, a jiffy at HZ=100). The give-up
// time is not monotonic in the RTO, so the model tries them all.
std::vector<Millis> possible_rtos(const SystemDefaults& system, const PathFacts& path) {
  if (path.rto) return {*path.rto};
  std::vector<Millis> rtos;
  for (Millis rto = system.rto_min + Millis(1); rto <= system.rto_min + 2 * path.rtt + Millis(10);
       rto += Millis(1)) {
    rtos.push_back(rto);
  }
  return rtos;
}

// When the first segment after a failure leaves a sender with unacknowledged data: the
// tail-loss probe, after 2 * RTT + 2 jiffies with several segments in flight or after
// 2 * RTT + 200 ms with one (never after the RTO); without tail-loss probes, the RTO.
struct Span {
  Millis earliest;
  Millis latest;
};

// The smallest and largest of possible_rtos(), for the timers that grow with the RTO.
Span rto_range(const SystemDefaults& system, const PathFacts& path) {
  const std::vector<Millis> rtos = possible_rtos(system, path);
  return {rtos.front(), rtos.back()};
}

Span first_segment_after_failure(Millis rto, const SystemDefaults& system, const PathFacts& path) {
  if (!system.tail_loss_probe) return {rto, rto};
  const Millis several = 2 * path.rtt + Millis(2);
  const Millis one = std::min(2 * path.rtt + detail::kTcpRtoMinConstant, rto);
  return {std::min(several, one), one};
}

struct Context {
  const ResolvedPolicy& policy;
  const SystemDefaults& system;
  const PathFacts& path;
  Activity activity;

  bool user_timeout() const { return policy.user_timeout > Millis(0); }
  Millis with_slack(Millis bound) const { return bound + bound / 8 + path.rtt + Millis(50); }
};

Detection never(std::string explanation) {
  Detection d;
  d.explanation = std::move(explanation);
  return d;
}

Detection found(Millis earliest, Millis latest, int error, CloseCause cause,
                std::string_view origin, std::string explanation) {
  Detection d;
  d.detected = true;
  d.earliest = earliest;
  d.latest = latest;
  d.error = error;
  d.cause = cause;
  d.origin = origin;
  d.explanation = std::move(explanation);
  return d;
}

// Something the peer's side sends right away (FIN, RST, ICMP): one trip, no timer.
Detection at_once(const Context& c, int error, CloseCause cause, std::string explanation) {
  return found(Millis(0), c.with_slack(Millis(0)), error, cause, kFromFailure,
               std::move(explanation));
}

std::string seconds(Millis duration) {
  return format_seconds(duration);
}

// --- keepalive on an idle connection ---------------------------------------------------

Detection keepalive_off(const Context& c) {
  std::string why = "keepalive is off and nothing is sent: the connection stays ESTABLISHED";
  if (c.user_timeout()) why += " (TCP_USER_TIMEOUT alone sends no probes)";
  return never(why);
}

// Probes to a peer that never answers them (silent) or answers with ICMP (unreachable).
Detection keepalive_unanswered(const Context& c, int error, CloseCause cause) {
  if (!c.policy.keepalive) return keepalive_off(c);
  const detail::KeepaliveRules rules{c.policy.idle, c.policy.interval, c.policy.count,
                                     c.policy.user_timeout};
  const detail::Expiry expiry = detail::keepalive_expiry(rules);
  std::string why = "keepalive probes at " + seconds(c.policy.idle) + ", then every " +
                    seconds(c.policy.interval) + "; ";
  if (c.user_timeout() && expiry.attempts != c.policy.count) {
    why += "TCP_USER_TIMEOUT " + seconds(c.policy.user_timeout) +
           " overrides cnt=" + std::to_string(c.policy.count) +
           ": the first timer run after it ends the " + "connection, after " +
           std::to_string(expiry.attempts) + " unanswered probe(s)";
  } else {
    why += std::to_string(c.policy.count) + " unanswered probes end it at " +
           seconds(c.policy.idle) + " + " + std::to_string(c.policy.count) + "*" +
           seconds(c.policy.interval);
    if (c.user_timeout())
      why += " (TCP_USER_TIMEOUT " + seconds(c.policy.user_timeout) + " agrees)";
  }
  Detection d = found(expiry.at, c.with_slack(expiry.at), error, cause, kFromLastSegment, why);
  d.probes = expiry.attempts;
  return d;
}

// --- unacknowledged data ---------------------------------------------------------------

// The time bound for unacknowledged data: the user timeout, or tcp_retries2's.
Millis data_time_bound(const Context& c) {
  return c.user_timeout() ? c.policy.user_timeout
                          : detail::model_timeout(c.system.retries2, detail::kTcpRtoMinConstant,
                                                  c.system.rto_max);
}

// Every way the retransmissions of data sent at time zero can end, over the possible
// RTOs and tail-loss probe delays: the first timer-driven retransmission follows the
// probe by one RTO and starts the kernel's clock.
struct DataExpiry {
  detail::Expiry earliest;
  Millis latest{0};
  Span first_retransmission{Millis::max(), Millis(0)};
};

DataExpiry data_expiry(const Context& c) {
  DataExpiry result;
  result.earliest.at = Millis::max();
  for (Millis rto : possible_rtos(c.system, c.path)) {
    const Span probe = first_segment_after_failure(rto, c.system, c.path);
    for (Millis probe_delay : {probe.earliest, probe.latest}) {
      detail::RetransmissionRules rules;
      rules.first_retransmission = (c.system.tail_loss_probe ? probe_delay : Millis(0)) + rto;
      rules.rto = rto;
      rules.rto_max = c.system.rto_max;
      rules.time_bound = data_time_bound(c);
      rules.time_bound_is_user_timeout = c.user_timeout();
      const detail::Expiry expiry = detail::retransmission_expiry(rules);
      if (expiry.at < result.earliest.at) result.earliest = expiry;
      result.latest = std::max(result.latest, expiry.at);
      Span& first = result.first_retransmission;
      first.earliest = std::min(first.earliest, rules.first_retransmission);
      first.latest = std::max(first.latest, rules.first_retransmission);
    }
  }
  return result;
}

Detection retransmissions_unanswered(const Context& c, int error, CloseCause cause) {
  const DataExpiry expiry = data_expiry(c);
  const Millis bound = data_time_bound(c);
  std::string why =
      "keepalive waits while data is unacknowledged; after a tail-loss probe the "
      "data is retransmitted, the timeout doubling from the RTO to " +
      seconds(c.system.rto_max) + "; ";
  if (c.user_timeout()) {
    why += "TCP_USER_TIMEOUT ends it " + seconds(bound) + " after the first retransmission";
  } else {
    why += "tcp_retries2=" + std::to_string(c.system.retries2) + " ends it at the first timeout " +
           seconds(bound) + " or more after the first retransmission";
  }
  Millis earliest = expiry.earliest.at;
  Millis latest = expiry.latest;
  if (error == EHOSTUNREACH) {
    // An ICMP error for a retransmission undoes its backoff (RFC 6069): retransmissions
    // come every RTO and the end comes right after the time bound.
    const Span rtos = rto_range(c.system, c.path);
    earliest = std::min(earliest, expiry.first_retransmission.earliest + bound);
    latest = std::max(latest, expiry.first_retransmission.latest + bound + rtos.latest);
  }
  Detection d = found(earliest, c.with_slack(latest), error, cause, kFromFirstSend, why);
  d.retransmissions = expiry.earliest.attempts;
  return d;
}

// --- a shut receive window ---------------------------------------------------------------

detail::WindowProbeRules window_rules(const Context& c, Millis first_timeout, bool answers) {
  detail::WindowProbeRules rules;
  rules.first_timeout = std::max(first_timeout, detail::kTcpRtoMinConstant);
  rules.rto_max = c.system.rto_max;
  rules.max_unanswered = c.system.retries2;
  rules.peer_answers = answers;
  rules.user_timeout = c.policy.user_timeout;
  return rules;
}

Detection window_probes(const Context& c, bool peer_answers, int error, CloseCause cause) {
  const Span rtos = rto_range(c.system, c.path);
  const auto early = detail::window_probe_expiry(window_rules(c, rtos.earliest, peer_answers));
  if (!early) {
    return never(
        "the peer's kernel answers every window probe and no TCP_USER_TIMEOUT is set: "
        "the connection waits for the window forever");
  }
  const auto late = detail::window_probe_expiry(window_rules(c, rtos.latest, peer_answers));
  std::string why = "the peer's window is shut; window probes double from the RTO to " +
                    seconds(c.system.rto_max) + "; ";
  if (c.user_timeout()) {
    why += "TCP_USER_TIMEOUT ends it once the window has been shut " +
           seconds(c.policy.user_timeout) + " from the first probe";
  } else {
    why += "tcp_retries2=" + std::to_string(c.system.retries2) + " unanswered probes end it";
  }
  const CloseCause final_cause = c.user_timeout() && cause == CloseCause::zero_window_timeout
                                     ? CloseCause::user_timeout
                                     : cause;
  Detection d = found(early->at, c.with_slack(late->at), error, final_cause, kFromWindowShut, why);
  d.probes = early->attempts;
  return d;
}

// --- connect() -----------------------------------------------------------------------

Detection syn_unanswered(const Context& c) {
  detail::RetransmissionRules rules;
  rules.first_retransmission = c.system.rto_initial;
  rules.bound_counts_from_first_retransmission = false;  // retrans_stamp is the first SYN
  rules.rto = c.system.rto_initial;
  rules.rto_max = c.system.rto_max;
  rules.linear_rounds = c.system.syn_linear_timeouts;
  rules.max_retransmissions = c.system.syn_retries + c.system.syn_linear_timeouts;
  rules.time_bound =
      detail::model_timeout(c.system.syn_retries, c.system.rto_initial, c.system.rto_max);
  std::string why = "the SYN is retransmitted from a " + seconds(c.system.rto_initial) +
                    " timeout: tcp_syn_retries=" + std::to_string(c.system.syn_retries);
  if (c.system.syn_linear_timeouts > 0) {
    why += " after tcp_syn_linear_timeouts=" + std::to_string(c.system.syn_linear_timeouts) +
           " undoubled rounds";
  }
  // A user timeout replaces the time bound (not the count) in SYN_SENT as well.
  if (c.user_timeout()) {
    rules.time_bound = c.policy.user_timeout;
    rules.time_bound_is_user_timeout = true;
    why += ", or TCP_USER_TIMEOUT " + seconds(c.policy.user_timeout) + ", whichever ends first";
  }
  const detail::Expiry expiry = detail::retransmission_expiry(rules);
  Detection d = found(expiry.at, c.with_slack(expiry.at), ETIMEDOUT, CloseCause::connect_timeout,
                      kFromConnect, why);
  d.retransmissions = expiry.attempts;
  return d;
}

// --- one function per failure ----------------------------------------------------------

Detection process_exit(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return at_once(c, 0, CloseCause::peer_closed,
                     "the peer's kernel sends FIN when its process exits: read() returns 0");
    case Activity::sending:
    case Activity::window_closed:
      return at_once(c, ECONNRESET, CloseCause::peer_reset,
                     "the peer's kernel answers data for an exited process, or a close with "
                     "unread data, with RST");
    case Activity::connecting:
      return at_once(c, ECONNREFUSED, CloseCause::connect_refused,
                     "nothing listens: the peer's kernel answers the SYN with RST");
  }
  return never("");
}

Detection host_silent(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return keepalive_unanswered(c, ETIMEDOUT, CloseCause::keepalive_timeout);
    case Activity::sending:
      return retransmissions_unanswered(
          c, ETIMEDOUT,
          c.user_timeout() ? CloseCause::user_timeout : CloseCause::retransmit_timeout);
    case Activity::window_closed:
      return window_probes(c, false, ETIMEDOUT, CloseCause::zero_window_timeout);
    case Activity::connecting:
      return syn_unanswered(c);
  }
  return never("");
}

// The rebooted host answers the first segment that reaches it with RST.
Detection host_rebooted(const Context& c) {
  const auto first_segment = [&](Millis earliest, Millis latest, std::string_view origin,
                                 std::string why) {
    return found(earliest, c.with_slack(latest), ECONNRESET, CloseCause::peer_reset, origin,
                 std::move(why));
  };
  // The probe or retransmission that meets the RST counts as sent.
  const auto probed = [](Detection d) {
    d.probes = 1;
    return d;
  };
  const auto retransmitted = [](Detection d) {
    d.retransmissions = 1;
    return d;
  };
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      if (!c.policy.keepalive) {
        return never("keepalive is off and nothing is sent: the rebooted peer is never asked");
      }
      return probed(first_segment(c.policy.idle, c.policy.idle, kFromLastSegment,
                                  "the first keepalive probe, at idle " + seconds(c.policy.idle) +
                                      ", is answered with RST"));
    case Activity::sending: {
      const Span rtos = rto_range(c.system, c.path);
      const Millis earliest = first_segment_after_failure(rtos.earliest, c.system, c.path).earliest;
      const Millis latest = first_segment_after_failure(rtos.latest, c.system, c.path).latest;
      return retransmitted(first_segment(
          earliest, latest, kFromFirstSend,
          c.system.tail_loss_probe
              ? "the tail-loss probe, within one RTO of the send, is answered with RST"
              : "the first retransmission, one RTO after the send, is answered with RST"));
    }
    case Activity::window_closed: {
      const Span rtos = rto_range(c.system, c.path);
      return probed(first_segment(std::max(rtos.earliest, detail::kTcpRtoMinConstant),
                                  std::max(rtos.latest, detail::kTcpRtoMinConstant),
                                  kFromWindowShut, "the first window probe is answered with RST"));
    }
    case Activity::connecting:
      return at_once(c, ECONNREFUSED, CloseCause::connect_refused,
                     "nothing listens yet: the SYN is answered with RST");
  }
  return never("");
}

// ICMP host unreachable is a soft error for an established connection: it is recorded
// and reported when a timer ends the connection, in place of ETIMEDOUT.
Detection unreachable(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return keepalive_unanswered(c, EHOSTUNREACH, CloseCause::unreachable);
    case Activity::sending:
      return retransmissions_unanswered(c, EHOSTUNREACH, CloseCause::unreachable);
    case Activity::window_closed:
      return window_probes(c, false, EHOSTUNREACH, CloseCause::unreachable);
    case Activity::connecting:
      return at_once(c, EHOSTUNREACH, CloseCause::unreachable,
                     "an ICMP unreachable for a SYN ends connect() at once");
  }
  return never("");
}

Detection process_hung(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return never(
          "the peer's kernel answers every keepalive probe: only an application "
          "heartbeat finds a hung process");
    case Activity::sending:
    case Activity::window_closed: {
      // The hung process stops reading; once its buffers fill, its window shuts.
      Detection d = window_probes(c, true, ETIMEDOUT, CloseCause::user_timeout);
      d.probes = 0;  // every probe is answered
      return d;
    }
    case Activity::connecting:
      return never(
          "the peer's kernel completes the handshake from its listen backlog: "
          "connect() succeeds");
  }
  return never("");
}

}  // namespace

namespace {

// Each enumerator's name for machines and phrase for people, in declaration order.
struct Names {
  std::string_view id;
  std::string_view description;
};

constexpr Names kFailureNames[] = {
    {"process_exit", "process exited"}, {"host_silent", "host crashed/cut off"},
    {"host_rebooted", "host rebooted"}, {"unreachable", "ICMP unreachable"},
    {"process_hung", "process hung"},
};

constexpr Names kActivityNames[] = {
    {"idle", "idle"},
    {"receiving", "receiving"},
    {"sending", "sending"},
    {"window_closed", "peer's window shut"},
    {"connecting", "connecting"},
};

const Names& names(PeerFailure failure) {
  return kFailureNames[static_cast<int>(failure)];
}
const Names& names(Activity activity) {
  return kActivityNames[static_cast<int>(activity)];
}

}  // namespace

std::string_view to_string(PeerFailure failure) {
  return names(failure).id;
}
std::string_view to_string(Activity activity) {
  return names(activity).id;
}
std::string_view describe(PeerFailure failure) {
  return names(failure).description;
}
std::string_view describe(Activity activity) {
  return names(activity).description;
}

Detection predict(PeerFailure failure, Activity activity, const ResolvedPolicy& policy,
                  const SystemDefaults& system, const PathFacts& path) {
  const Context context{policy, system, path, activity};
  switch (failure) {
    case PeerFailure::process_exit:
      return process_exit(context);
    case PeerFailure::host_silent:
      return host_silent(context);
    case PeerFailure::host_rebooted:
      return host_rebooted(context);
    case PeerFailure::unreachable:
      return unreachable(context);
    case PeerFailure::process_hung:
      return process_hung(context);
  }
  return never("");
}

}  // namespace tcpka
