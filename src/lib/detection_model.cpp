// predict(): one function per peer failure, each choosing the kernel timer that decides
// it for the activity at hand (see the header for the rules and kernel_timers.h for
// the timers).
#include "tcpka/detection_model.h"

#include <algorithm>
#include <string>

#include "kernel_timers.h"

namespace tcpka {
namespace {

constexpr Origin kFromLastSegment = Origin::last_segment;
constexpr Origin kFromFirstSend = Origin::first_send;
constexpr Origin kFromWindowShut = Origin::window_shut;
constexpr Origin kFromConnect = Origin::connect;
constexpr Origin kFromFailure = Origin::failure;

const std::error_code kEndOfFile{};
const std::error_code kTimedOut = std::make_error_code(std::errc::timed_out);
const std::error_code kReset = std::make_error_code(std::errc::connection_reset);
const std::error_code kRefused = std::make_error_code(std::errc::connection_refused);
const std::error_code kUnreachable = std::make_error_code(std::errc::host_unreachable);

struct Span {
  Millis earliest;
  Millis latest;
};

// The RTOs a path may give a connection: the one measured, or those from the smallest
// (rto_min + 1 ms: the kernel's RTO is srtt + max(4 * mdev, rto_min), rounded up to a
// jiffy) to the largest (rto_min + 2 * RTT + 10 ms, a jiffy at HZ=100).
Span rto_span(const SystemDefaults& system, const PathFacts& path) {
  if (path.rto && *path.rto > Millis(0)) return {*path.rto, *path.rto};
  const Millis rtt = std::max(path.rtt, Millis(0));
  return {system.rto_min + Millis(1), system.rto_min + 2 * rtt + Millis(10)};
}

// Calls `visit` for RTOs across `span`: every millisecond of a narrow span, 64 even
// steps and both ends of a wide one. The retransmission give-up time is not monotonic
// in the RTO (a few milliseconds decide whether another doubling is needed), so the
// model does not trust the ends alone.
template <class Visit>
void for_each_rto(Span span, Visit visit) {
  const Millis step = std::max(Millis(1), (span.latest - span.earliest) / 64);
  for (Millis rto = span.earliest; rto < span.latest; rto += step)
    visit(rto);
  visit(span.latest);
}

// When the first segment after a failure leaves a sender with unacknowledged data: the
// tail-loss probe, after 2 * RTT + 2 ms with several segments in flight or after
// 2 * RTT + rto_min with one (never after the RTO); without tail-loss probes, the RTO.
Span first_segment_after_failure(Millis rto, const SystemDefaults& system, const PathFacts& path) {
  if (!system.tail_loss_probe) return {rto, rto};
  const Millis rtt = std::max(path.rtt, Millis(0));
  const Millis one_segment = std::min(2 * rtt + system.rto_min, rto);
  const Millis several_segments = std::min(2 * rtt + Millis(2), one_segment);
  return {several_segments, one_segment};
}

struct Context {
  const ResolvedPolicy& policy;
  const SystemDefaults& system;
  const PathFacts& path;
  Activity activity;

  bool user_timeout() const { return policy.user_timeout > Millis(0); }
  // Linux's TCP_USER_TIMEOUT also ends an idle connection whose probes go unanswered;
  // Windows' TCP_MAXRT and macOS' TCP_RXT_CONNDROPTIME bound retransmissions only.
  bool user_timeout_ends_keepalive() const {
    return user_timeout() && system.stack == TcpStack::linux_kernel;
  }
  // Linux bounds unacknowledged data by time (tcp_retries2 converted to a duration);
  // Windows and macOS count the retransmissions themselves.
  bool counts_retransmissions() const { return system.stack != TcpStack::linux_kernel; }
  std::string_view user_timeout_option() const {
    switch (system.stack) {
      case TcpStack::linux_kernel:
        break;
      case TcpStack::windows:
        return "TCP_MAXRT";
      case TcpStack::darwin:
        return "TCP_RXT_CONNDROPTIME";
    }
    return "TCP_USER_TIMEOUT";
  }
  Millis with_slack(Millis bound) const {
    return bound + bound / 8 + std::max(path.rtt, Millis(0)) + Millis(50);
  }
};

Detection never(std::string explanation) {
  Detection d;
  d.explanation = std::move(explanation);
  return d;
}

Detection found(Millis earliest, Millis latest, std::error_code error, CloseCause cause,
                Origin origin, std::string explanation) {
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
Detection at_once(const Context& c, std::error_code error, CloseCause cause,
                  std::string explanation) {
  return found(Millis(0), c.with_slack(Millis(0)), error, cause, kFromFailure,
               std::move(explanation));
}

// --- keepalive on an idle connection ---------------------------------------------------

// Probes to a peer that never answers them. A router's ICMP unreachable for a probe is
// ignored (the probe's sequence number is snd_una - 1, outside what tcp_v4_err accepts),
// so this covers an unreachable peer as well.
Detection keepalive_unanswered(const Context& c) {
  if (!c.policy.keepalive) {
    std::string why = "keepalive is off and nothing is sent: the connection stays ESTABLISHED";
    if (c.user_timeout()) why += " (TCP_USER_TIMEOUT alone sends no probes)";
    return never(why);
  }
  const Millis user_timeout = c.user_timeout_ends_keepalive() ? c.policy.user_timeout : Millis(0);
  const detail::Expiry expiry =
      detail::keepalive_expiry({c.policy.idle, c.policy.interval, c.policy.count, user_timeout});
  std::string why = "keepalive probes at " + format_seconds(c.policy.idle) + ", then every " +
                    format_seconds(c.policy.interval) + "; ";
  if (c.user_timeout() && !c.user_timeout_ends_keepalive()) {
    why += std::to_string(c.policy.count) + " unanswered probes end it at " +
           format_seconds(c.policy.idle) + " + " + std::to_string(c.policy.count) + "*" +
           format_seconds(c.policy.interval) + " (" + std::string(c.user_timeout_option()) +
           " bounds retransmissions only)";
  } else if (c.user_timeout() && expiry.attempts != c.policy.count) {
    why += "TCP_USER_TIMEOUT " + format_seconds(c.policy.user_timeout) +
           " overrides cnt=" + std::to_string(c.policy.count) +
           ": the first timer run after it ends the connection, after " +
           std::to_string(expiry.attempts) + " unanswered probe(s)";
  } else {
    why += std::to_string(c.policy.count) + " unanswered probes end it at " +
           format_seconds(c.policy.idle) + " + " + std::to_string(c.policy.count) + "*" +
           format_seconds(c.policy.interval);
    if (c.user_timeout()) {
      why += " (TCP_USER_TIMEOUT " + format_seconds(c.policy.user_timeout) + " agrees)";
    }
  }
  Detection d = found(expiry.at, c.with_slack(expiry.at), kTimedOut, CloseCause::keepalive_timeout,
                      kFromLastSegment, why);
  d.probes = expiry.attempts;
  return d;
}

// --- unacknowledged data ---------------------------------------------------------------

// The time bound for unacknowledged data: the user timeout, or tcp_retries2's.
Millis data_time_bound(const Context& c) {
  if (c.user_timeout()) return c.policy.user_timeout;
  if (c.counts_retransmissions()) return Millis(std::int64_t{1} << 50);  // no time bound
  return detail::model_timeout(c.system.retries2, detail::kTcpRtoMinConstant, c.system.rto_max);
}

// Every way the retransmissions of data sent at time zero can end, over the possible
// RTOs and tail-loss probe delays: the first timer-driven retransmission follows the
// probe by one RTO and starts the kernel's clock.
struct DataExpiry {
  detail::Expiry earliest{Millis::max(), 0};
  Millis latest{0};
  Span first_retransmission{Millis::max(), Millis(0)};
};

DataExpiry data_expiry(const Context& c) {
  DataExpiry result;
  for_each_rto(rto_span(c.system, c.path), [&](Millis rto) {
    const Span probe = first_segment_after_failure(rto, c.system, c.path);
    for (Millis probe_delay : {probe.earliest, probe.latest}) {
      detail::RetransmissionRules rules;
      rules.first_retransmission = (c.system.tail_loss_probe ? probe_delay : Millis(0)) + rto;
      rules.rto = rto;
      rules.rto_max = c.system.rto_max;
      rules.time_bound = data_time_bound(c);
      rules.time_bound_is_user_timeout = c.user_timeout();
      if (c.counts_retransmissions()) rules.max_retransmissions = c.system.retries2;
      const detail::Expiry expiry = detail::retransmission_expiry(rules);
      if (expiry.at < result.earliest.at) result.earliest = expiry;
      result.latest = std::max(result.latest, expiry.at);
      Span& first = result.first_retransmission;
      first.earliest = std::min(first.earliest, rules.first_retransmission);
      first.latest = std::max(first.latest, rules.first_retransmission);
    }
  });
  return result;
}

std::string data_explanation(const Context& c) {
  std::string why =
      "keepalive waits while data is unacknowledged; after a tail-loss probe the data is "
      "retransmitted, the timeout doubling from the RTO to " +
      format_seconds(c.system.rto_max) + "; ";
  if (c.user_timeout()) {
    return why + std::string(c.user_timeout_option()) + " ends it " +
           format_seconds(c.policy.user_timeout) + " after the first retransmission";
  }
  if (c.counts_retransmissions()) {
    return why + std::to_string(c.system.retries2) +
           " retransmissions of the segment end it (the system counts them, not time)";
  }
  return why + "tcp_retries2=" + std::to_string(c.system.retries2) +
         " ends it at the first timeout " + format_seconds(data_time_bound(c)) +
         " or more after the first retransmission";
}

Detection retransmissions_unanswered(const Context& c) {
  const DataExpiry expiry = data_expiry(c);
  const CloseCause cause =
      c.user_timeout() ? CloseCause::user_timeout : CloseCause::retransmit_timeout;
  Detection d = found(expiry.earliest.at, c.with_slack(expiry.latest), kTimedOut, cause,
                      kFromFirstSend, data_explanation(c));
  d.retransmissions = expiry.earliest.attempts;
  return d;
}

// Retransmitted data is in the window tcp_v4_err accepts: the router's ICMP for it is
// stored (a soft error, reported in place of ETIMEDOUT) and undoes the backoff of the
// retransmission it answers (RFC 6069). Retransmissions then come every RTO, as often as
// the router's ICMP rate limit answers them, and the end comes soon after the bound.
Detection retransmissions_answered_by_icmp(const Context& c) {
  const DataExpiry expiry = data_expiry(c);
  const Millis bound = data_time_bound(c);
  const Span rtos = rto_span(c.system, c.path);
  const Millis latest =
      std::max(expiry.latest, expiry.first_retransmission.latest + bound + rtos.latest);
  Detection d = found(expiry.first_retransmission.earliest + bound, c.with_slack(latest),
                      kUnreachable, CloseCause::unreachable, kFromFirstSend,
                      data_explanation(c) +
                          "; each retransmission's ICMP unreachable is stored and reported, and "
                          "undoes its backoff (RFC 6069)");
  d.retransmissions = 0;  // as many as the router's ICMP rate limit lets through
  return d;
}

// --- a shut receive window ---------------------------------------------------------------

detail::WindowProbeRules window_rules(const Context& c, Millis rto, bool answers) {
  detail::WindowProbeRules rules;
  rules.first_timeout = std::max(rto, detail::kTcpRtoMinConstant);  // tcp_probe0_base()
  rules.rto_max = c.system.rto_max;
  rules.max_unanswered = c.system.retries2;
  rules.peer_answers = answers;
  rules.user_timeout = c.policy.user_timeout;
  return rules;
}

// Window probes to a peer that answers them (a hung process) or never does (a silent or
// unreachable host: the probes carry snd_una - 1, so ICMP for them is ignored too).
Detection window_probes(const Context& c, bool peer_answers) {
  const Span rtos = rto_span(c.system, c.path);
  const auto early = detail::window_probe_expiry(window_rules(c, rtos.earliest, peer_answers));
  if (!early) {
    return never(
        "the peer's kernel answers every window probe and no TCP_USER_TIMEOUT is set: the "
        "connection waits for the window forever");
  }
  const auto late = detail::window_probe_expiry(window_rules(c, rtos.latest, peer_answers));
  std::string why = "the peer's window is shut; window probes double from the RTO to " +
                    format_seconds(c.system.rto_max) + "; ";
  if (c.user_timeout()) {
    why += "TCP_USER_TIMEOUT ends it once the window has been shut " +
           format_seconds(c.policy.user_timeout) + " from the first probe";
  } else {
    why += "tcp_retries2=" + std::to_string(c.system.retries2) + " unanswered probes end it";
  }
  const CloseCause cause =
      c.user_timeout() ? CloseCause::user_timeout : CloseCause::zero_window_timeout;
  Detection d = found(early->at, c.with_slack(late->at), kTimedOut, cause, kFromWindowShut, why);
  d.probes = peer_answers ? 0 : early->attempts;
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
  std::string why = "the SYN is retransmitted from a " + format_seconds(c.system.rto_initial) +
                    " timeout: tcp_syn_retries=" + std::to_string(c.system.syn_retries);
  if (c.system.syn_linear_timeouts > 0) {
    why += " after tcp_syn_linear_timeouts=" + std::to_string(c.system.syn_linear_timeouts) +
           " undoubled rounds";
  }
  // A user timeout replaces the time bound (not the count) in SYN_SENT as well.
  if (c.user_timeout()) {
    rules.time_bound = c.policy.user_timeout;
    rules.time_bound_is_user_timeout = true;
    why +=
        ", or TCP_USER_TIMEOUT " + format_seconds(c.policy.user_timeout) + ", whichever ends first";
  }
  const detail::Expiry expiry = detail::retransmission_expiry(rules);
  Detection d = found(expiry.at, c.with_slack(expiry.at), kTimedOut, CloseCause::connect_timeout,
                      kFromConnect, why);
  d.retransmissions = expiry.attempts;
  return d;
}

// --- one function per failure ----------------------------------------------------------

Detection process_exit(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return at_once(c, kEndOfFile, CloseCause::peer_closed,
                     "the peer's kernel sends FIN when its process exits: read() returns 0");
    case Activity::sending:
    case Activity::window_closed:
      return at_once(c, kReset, CloseCause::peer_reset,
                     "the peer's kernel answers data for an exited process, or a close with "
                     "unread data, with RST");
    case Activity::connecting:
      return at_once(c, kRefused, CloseCause::connect_refused,
                     "nothing listens: the peer's kernel answers the SYN with RST");
  }
  return never("");
}

// Where people expect EHOSTUNREACH from a router's ICMP, say why it does not come.
Detection noting_ignored_icmp(Detection d) {
  if (d.detected) {
    d.explanation +=
        "; the router's ICMP unreachable for each probe is ignored (a probe's sequence number, "
        "snd_una - 1, is outside the window tcp_v4_err accepts), so the error is ETIMEDOUT";
  }
  return d;
}

// A host that crashed or lost its cable, and a router's ICMP unreachable for it, look
// alike to every timer but retransmission: only retransmitted data is answered by ICMP
// that the kernel accepts.
Detection host_gone(const Context& c, bool icmp) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return icmp ? noting_ignored_icmp(keepalive_unanswered(c)) : keepalive_unanswered(c);
    case Activity::sending:
      return icmp ? retransmissions_answered_by_icmp(c) : retransmissions_unanswered(c);
    case Activity::window_closed:
      return icmp ? noting_ignored_icmp(window_probes(c, /*peer_answers=*/false))
                  : window_probes(c, /*peer_answers=*/false);
    case Activity::connecting:
      if (icmp) {
        return at_once(c, kUnreachable, CloseCause::unreachable,
                       "an ICMP unreachable for a SYN ends connect() at once");
      }
      return syn_unanswered(c);
  }
  return never("");
}

// The rebooted host answers the first segment that reaches it with RST; that probe or
// retransmission counts as sent.
Detection host_rebooted(const Context& c) {
  const Span rtos = rto_span(c.system, c.path);
  const auto reset = [&](Millis earliest, Millis latest, Origin origin, std::string why) {
    return found(earliest, c.with_slack(latest), kReset, CloseCause::peer_reset, origin,
                 std::move(why));
  };
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving: {
      if (!c.policy.keepalive) {
        return never("keepalive is off and nothing is sent: the rebooted peer is never asked");
      }
      Detection d = reset(c.policy.idle, c.policy.idle, kFromLastSegment,
                          "the first keepalive probe, at idle " + format_seconds(c.policy.idle) +
                              ", is answered with RST");
      d.probes = 1;
      return d;
    }
    case Activity::sending: {
      Detection d =
          reset(first_segment_after_failure(rtos.earliest, c.system, c.path).earliest,
                first_segment_after_failure(rtos.latest, c.system, c.path).latest, kFromFirstSend,
                c.system.tail_loss_probe
                    ? "the tail-loss probe, within one RTO of the send, is answered with RST"
                    : "the first retransmission, one RTO after the send, is answered with RST");
      d.retransmissions = 1;
      return d;
    }
    case Activity::window_closed: {
      Detection d = reset(std::max(rtos.earliest, detail::kTcpRtoMinConstant),
                          std::max(rtos.latest, detail::kTcpRtoMinConstant), kFromWindowShut,
                          "the first window probe is answered with RST");
      d.probes = 1;
      return d;
    }
    case Activity::connecting:
      return at_once(c, kRefused, CloseCause::connect_refused,
                     "nothing listens yet: the SYN is answered with RST");
  }
  return never("");
}

Detection process_hung(const Context& c) {
  switch (c.activity) {
    case Activity::idle:
    case Activity::receiving:
      return never(
          "the peer's kernel answers every keepalive probe: only an application heartbeat "
          "finds a hung process");
    case Activity::sending:
    case Activity::window_closed:
      // The hung process stops reading; once its buffers fill, its window shuts.
      return window_probes(c, /*peer_answers=*/true);
    case Activity::connecting:
      return never(
          "the peer's kernel completes the handshake from its listen backlog: connect() "
          "succeeds");
  }
  return never("");
}

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
      return host_gone(context, /*icmp=*/false);
    case PeerFailure::host_rebooted:
      return host_rebooted(context);
    case PeerFailure::unreachable:
      return host_gone(context, /*icmp=*/true);
    case PeerFailure::process_hung:
      return process_hung(context);
  }
  return never("");
}

std::string_view describe(Origin origin) {
  switch (origin) {
    case Origin::failure:
      return "the failure";
    case Origin::last_segment:
      return "the last segment from the peer";
    case Origin::first_send:
      return "the first send of the unacknowledged data";
    case Origin::window_shut:
      return "the peer's window shutting";
    case Origin::connect:
      return "connect()";
    case Origin::last_message:
      return "the last bytes from the peer's application";
  }
  return "the failure";
}

Millis past_the_first_keepalive_run(Millis idle) {
  return idle / 7 + Millis(20);
}

}  // namespace tcpka
