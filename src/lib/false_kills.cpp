#include "tcpka/false_kills.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

namespace tcpka {
namespace {

// The exact renewal walks a grid of this many steps at most (a day on a one-second grid is
// 86,400): beyond, the exponential limit is as good and takes no memory.
constexpr std::int64_t kMaxGridSteps = std::int64_t{1} << 22;
// recommend_policy()'s search: whole seconds, up to these.
constexpr Millis kMaxRecommendedIdle{7'200'000};  // Linux's default idle
constexpr Millis kMaxRecommendedInterval{60'000};
constexpr int kMaxRecommendedCount = 20;
// Idle stays this far under a middlebox's limit: its clock and the kernel's timers differ.
constexpr double kMiddleboxMargin = 0.9;
constexpr Millis kDay{86'400'000};
constexpr Millis kHour{3'600'000};

struct Walk {
  double q = 0;   // a probe round trip fails
  int fatal = 0;  // unanswered probes in a row that end the connection
  Millis idle{0}, interval{0};
  Millis renewal_gap() const { return std::max(idle, interval); }
};

Walk walk_of(const ResolvedPolicy& policy, PathLoss loss) {
  return {loss.round_trip(), fatal_probe_losses(policy), policy.idle, policy.interval};
}

// Exactly, on the grid of gcd(idle, interval): the probability mass of a probe cycle
// starting at each step, moved forward by its outcomes (answered after j losses: a new
// cycle; `fatal` losses: the end).
double exact_probability(const Walk& w, std::int64_t unit_ms, std::int64_t steps) {
  const std::int64_t idle = w.idle.count() / unit_ms;
  const std::int64_t interval = w.interval.count() / unit_ms;
  const std::int64_t gap = w.renewal_gap().count() / unit_ms;
  std::vector<double> losses_in_a_row(static_cast<std::size_t>(w.fatal) + 1, 1.0);
  for (std::size_t j = 1; j < losses_in_a_row.size(); ++j)
    losses_in_a_row[j] = losses_in_a_row[j - 1] * w.q;
  std::vector<double> cycle_starts(static_cast<std::size_t>(steps) + 1, 0.0);
  cycle_starts[0] = 1.0;
  double killed = 0;
  for (std::int64_t t = 0; t <= steps; ++t) {
    const double mass = cycle_starts[static_cast<std::size_t>(t)];
    if (mass == 0) continue;
    const std::int64_t first_probe = t + (t == 0 ? idle : gap);
    for (int j = 0; j < w.fatal; ++j) {
      const std::int64_t answered = first_probe + j * interval;
      if (answered > steps) break;
      cycle_starts[static_cast<std::size_t>(answered)] +=
          mass * losses_in_a_row[static_cast<std::size_t>(j)] * (1 - w.q);
    }
    if (first_probe + w.fatal * interval <= steps) {
      killed += mass * losses_in_a_row[static_cast<std::size_t>(w.fatal)];
    }
  }
  return killed;
}

// The renewal's limit: kills come at rate q^fatal per mean cycle length.
double limit_probability(const Walk& w, Millis within) {
  const double q_fatal = std::pow(w.q, w.fatal);
  double mean_cycle = 0;
  double q_j = 1;
  const double gap = static_cast<double>(w.renewal_gap().count());
  const double interval = static_cast<double>(w.interval.count());
  for (int j = 0; j < w.fatal; ++j) {
    mean_cycle += q_j * (1 - w.q) * (gap + j * interval);
    q_j *= w.q;
  }
  mean_cycle += q_fatal * (gap + w.fatal * interval);
  return -std::expm1(-q_fatal / mean_cycle * static_cast<double>(within.count()));
}

double probability(const Walk& w, Millis within) {
  if (w.q <= 0 || within < w.idle + w.fatal * w.interval) return 0;
  const std::int64_t unit = std::gcd(w.idle.count(), w.interval.count());
  const std::int64_t steps = within.count() / unit;
  return steps <= kMaxGridSteps ? exact_probability(w, unit, steps) : limit_probability(w, within);
}

Error bad_goal(std::string message) {
  return errno_error(EINVAL, std::move(message));
}

// The library builds for Windows too, without fmt: numbers through snprintf.
std::string number(double value, const char* format = "%g") {
  char text[32];
  const int length = std::snprintf(text, sizeof(text), format, value);
  return length > 0 ? std::string(text) : std::string();
}

std::string percent(double share) {
  return number(share * 100) + "%";
}

}  // namespace

int fatal_probe_losses(const ResolvedPolicy& policy) {
  if (policy.user_timeout.count() == 0) return policy.count;
  const Millis after_idle = policy.user_timeout - policy.idle;
  if (after_idle <= Millis(0) || policy.interval.count() == 0) return 1;
  const auto runs = (after_idle.count() + policy.interval.count() - 1) / policy.interval.count();
  return static_cast<int>(std::max<std::int64_t>(1, runs));
}

double false_kill_probability(const ResolvedPolicy& policy, PathLoss loss, Millis within) {
  if (!policy.keepalive || policy.idle.count() <= 0 || policy.interval.count() <= 0) return 0;
  return probability(walk_of(policy, loss), within);
}

Result<Recommendation> recommend_policy(const RecommendationGoal& goal) {
  const auto valid_share = [](double v) { return v >= 0 && v < 1; };
  if (!valid_share(goal.loss.to_peer) || !valid_share(goal.loss.from_peer)) {
    return bad_goal("loss: give a share from 0 up to (not including) 100%");
  }
  if (!(goal.false_kills_per_day > 0 && goal.false_kills_per_day < 1)) {
    return bad_goal("false kills: give a probability above 0 and below 1 per connection per day");
  }
  Millis max_idle = kMaxRecommendedIdle;
  if (goal.idle_limit > Millis(0)) {
    const auto seconds = static_cast<std::int64_t>(
        std::floor(static_cast<double>(goal.idle_limit.count()) * kMiddleboxMargin / 1000));
    max_idle = std::min(max_idle, Millis(seconds * 1000));
    if (max_idle < Millis(1'000)) {
      return bad_goal("a middlebox that forgets flows after " + format_duration(goal.idle_limit) +
                      " leaves no idle of a whole second under " + percent(kMiddleboxMargin) +
                      " of it");
    }
  }
  const Millis min_interval =
      Millis((std::max<std::int64_t>(goal.min_interval.count(), 1'000) + 999) / 1000 * 1000);
  const std::int64_t min_idle_s = std::max<std::int64_t>(1, (goal.min_idle.count() + 999) / 1000);
  if (Millis(min_idle_s * 1000) > max_idle) {
    return bad_goal("the least idle allowed (" + format_duration(Millis(min_idle_s * 1000)) +
                    ") is above the most the middlebox allows (" + format_duration(max_idle) + ")");
  }

  const double q = goal.loss.round_trip();
  const auto per_day = [&](Millis idle, Millis interval, int count) {
    return limit_probability({q, count, idle, interval}, kDay);
  };
  std::optional<ResolvedPolicy> best;
  for (Millis interval = min_interval; interval <= kMaxRecommendedInterval;
       interval += Millis(1'000)) {
    for (int count = 1; count <= kMaxRecommendedCount; ++count) {
      if (q > 0 && per_day(max_idle, interval, count) > goal.false_kills_per_day) continue;
      // The chance falls as idle grows (fewer cycles a day): the least idle that fits.
      std::int64_t low = min_idle_s, high = max_idle.count() / 1000;
      while (low < high && q > 0) {
        const std::int64_t mid = (low + high) / 2;
        if (per_day(Millis(mid * 1000), interval, count) <= goal.false_kills_per_day) {
          high = mid;
        } else {
          low = mid + 1;
        }
      }
      const ResolvedPolicy candidate{true, Millis(low * 1000), interval, count,
                                     Millis(low * 1000) + count * interval};
      const auto detection = [](const ResolvedPolicy& p) { return p.idle + p.count * p.interval; };
      if (!best || detection(candidate) < detection(*best) ||
          (detection(candidate) == detection(*best) && candidate.count < best->count)) {
        best = candidate;
      }
    }
  }
  if (!best) {
    return bad_goal("no policy with idle up to " + format_duration(max_idle) +
                    ", an interval up to " + format_duration(kMaxRecommendedInterval) +
                    " and up to " + std::to_string(kMaxRecommendedCount) +
                    " probes keeps false kills at " + number(goal.false_kills_per_day) +
                    " a day or fewer on a path that loses " + percent(q) + " of probe round trips");
  }
  // The search used the renewal's limit; the exact walk decides, a second of idle at a
  // time.
  Recommendation r;
  r.policy = *best;
  while (true) {
    r.false_kills_per_day = false_kill_probability(r.policy, goal.loss, kDay);
    if (r.false_kills_per_day <= goal.false_kills_per_day || r.policy.idle >= max_idle) break;
    r.policy.idle += Millis(1'000);
    r.policy.user_timeout += Millis(1'000);
  }
  r.false_kills_per_hour = false_kill_probability(r.policy, goal.loss, kHour);
  r.detection = r.policy.idle + r.policy.count * r.policy.interval;
  const bool least_idle = r.policy.idle == Millis(min_idle_s * 1000);
  if (q == 0) {
    r.why =
        "a path that loses nothing never kills a healthy peer: only the probes' traffic "
        "(--min-idle) bounds how fast";
  } else {
    const std::string each_way =
        goal.loss.to_peer == goal.loss.from_peer
            ? percent(goal.loss.to_peer)
            : percent(goal.loss.to_peer) + " and " + percent(goal.loss.from_peer);
    r.why = "a probe round trip fails " + percent(q) + " of the time (" + each_way +
            " lost each way); " + std::to_string(r.policy.count) +
            " lost in a row end a connection, " + number(std::pow(q, r.policy.count), "%.3g") +
            " of the probe cycles; ";
    const std::string goal_text = number(goal.false_kills_per_day) + " a day";
    r.why += least_idle
                 ? "at the least idle allowed (" + format_duration(r.policy.idle) +
                       ": it bounds the probes' traffic), " + std::to_string(r.policy.count) +
                       " probes are the fewest that keep that to " + goal_text
                 : "idle " + format_duration(r.policy.idle) +
                       " is the shortest that keeps that to " + goal_text;
  }
  if (r.policy.idle == max_idle && goal.idle_limit > Millis(0)) {
    r.why += "; the middlebox (" + format_duration(goal.idle_limit) +
             " idle limit) allows no longer idle";
  }
  return r;
}

}  // namespace tcpka
