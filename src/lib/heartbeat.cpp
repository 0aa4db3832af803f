#include "tcpka/heartbeat.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace tcpka {
namespace {

constexpr int kMaxWindow = 10'000;
constexpr double kMaxThreshold = 30;  // phi 30: one mistake in 10^30, beyond any need

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

Result<Millis> positive_duration(std::string_view key, std::string_view value) {
  auto parsed = parse_duration(value);
  if (!parsed)
    return invalid_argument(std::string(key) + "=" + printable(value) + ": " +
                            parsed.error().message);
  if (parsed->count() == 0) return invalid_argument(std::string(key) + " must be above zero");
  return *parsed;
}

Result<double> number(std::string_view key, std::string_view value, double low, double high) {
  double parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || !(parsed >= low) ||
      !(parsed <= high)) {
    return invalid_argument(std::string(key) + "=" + printable(value) + " is not a number in " +
                            std::to_string(static_cast<int>(low)) + ".." +
                            std::to_string(static_cast<int>(high)));
  }
  return parsed;
}

std::string format_number(double value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc() ? std::string(text, end) : std::string("?");
}

// Akka's approximation of the normal distribution's tail (PhiAccrualFailureDetector):
// the logistic curve 1 / (1 + e^-(1.5976 y + 0.070566 y^3)), within 1.4e-4 of the CDF.
double phi_of(double silence, double mean, double deviation) {
  const double y = (silence - mean) / deviation;
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  return silence > mean ? -std::log10(e / (1.0 + e)) : -std::log10(1.0 - 1.0 / (1.0 + e));
}

// The inverse: the y at which phi_of reaches `phi` (> log10(2), past the mean). With
// p = 10^-phi, the logistic gives 0.070566 y^3 + 1.5976 y = ln((1 - p) / p), a cubic
// with one real root (Cardano).
double y_for(double phi) {
  const double p = std::pow(10.0, -phi);
  const double a = 1.5976 / 0.070566;
  const double b = -std::log((1.0 - p) / p) / 0.070566;
  const double root = std::sqrt(b * b / 4 + a * a * a / 27);
  return std::cbrt(-b / 2 + root) + std::cbrt(-b / 2 - root);
}

}  // namespace

Result<HeartbeatPolicy> parse_heartbeat(std::string_view text) {
  HeartbeatPolicy policy;
  std::string_view rest = trim(text);
  const std::size_t comma = rest.find(',');
  auto interval = positive_duration("interval", trim(rest.substr(0, comma)));
  if (!interval) {
    return invalid_argument("heartbeat '" + printable(text) +
                            "': expected INTERVAL[,timeout=D] or "
                            "INTERVAL,phi=X: " +
                            interval.error().message);
  }
  policy.interval = *interval;
  bool timeout_given = false;
  PhiAccrual phi;
  bool phi_given = false;
  bool phi_option_given = false;
  while (comma != std::string_view::npos && !rest.empty()) {
    rest = rest.substr(rest.find(',') + 1);
    const std::size_t next = rest.find(',');
    const std::string_view item = trim(rest.substr(0, next));
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return invalid_argument("heartbeat item '" + printable(item) +
                              "': expected timeout=, phi=, window=, min-deviation= or pause=");
    }
    const std::string_view key = trim(item.substr(0, equals));
    const std::string_view value = trim(item.substr(equals + 1));
    if (key == "timeout") {
      auto parsed = positive_duration(key, value);
      if (!parsed) return parsed.error();
      policy.timeout = *parsed;
      timeout_given = true;
    } else if (key == "phi") {
      auto parsed = number(key, value, 1, kMaxThreshold);
      if (!parsed) return parsed.error();
      phi.threshold = *parsed;
      phi_given = true;
    } else if (key == "window") {
      auto parsed = number(key, value, 2, kMaxWindow);
      if (!parsed) return parsed.error();
      if (*parsed != std::floor(*parsed)) return invalid_argument("window must be a whole number");
      phi.window = static_cast<int>(*parsed);
      phi_option_given = true;
    } else if (key == "min-deviation") {
      auto parsed = positive_duration(key, value);
      if (!parsed) return parsed.error();
      phi.min_deviation = *parsed;
      phi_option_given = true;
    } else if (key == "pause") {
      auto parsed = parse_duration(value);
      if (!parsed)
        return invalid_argument("pause=" + printable(value) + ": " + parsed.error().message);
      phi.acceptable_pause = *parsed;
      phi_option_given = true;
    } else {
      return invalid_argument("unknown heartbeat key '" + printable(key) +
                              "': expected timeout, phi, window, min-deviation or pause");
    }
    if (next == std::string_view::npos) break;
  }
  if (phi_given && timeout_given) {
    return invalid_argument("timeout= and phi= choose two different detectors: give one");
  }
  if (phi_option_given && !phi_given) {
    return invalid_argument("window, min-deviation and pause are phi's: give phi= too");
  }
  if (phi_given) {
    policy.phi = phi;
  } else if (!timeout_given) {
    policy.timeout = policy.interval * 3;
  } else if (policy.timeout <= policy.interval) {
    return invalid_argument("timeout=" + format_duration(policy.timeout) +
                            " must be longer than the interval (" +
                            format_duration(policy.interval) + "): the peer pings only after " +
                            "hearing nothing for an interval");
  }
  return policy;
}

std::string to_string(const HeartbeatPolicy& policy) {
  std::string text = format_duration(policy.interval);
  if (!policy.phi) {
    if (policy.timeout != policy.interval * 3)
      text += ",timeout=" + format_duration(policy.timeout);
    return text;
  }
  const PhiAccrual defaults;
  const PhiAccrual& phi = *policy.phi;
  text += ",phi=" + format_number(phi.threshold);
  if (phi.window != defaults.window) text += ",window=" + std::to_string(phi.window);
  if (phi.min_deviation != defaults.min_deviation) {
    text += ",min-deviation=" + format_duration(phi.min_deviation);
  }
  if (phi.acceptable_pause != defaults.acceptable_pause) {
    text += ",pause=" + format_duration(phi.acceptable_pause);
  }
  return text;
}

std::string_view to_string(PeerHealth health) {
  switch (health) {
    case PeerHealth::alive:
      return "alive";
    case PeerHealth::suspect:
      return "suspect";
    case PeerHealth::dead:
      return "dead";
  }
  return "alive";
}

// --- the detector -----------------------------------------------------------------------

HeartbeatDetector::HeartbeatDetector(const HeartbeatPolicy& policy, Millis start)
    : policy_(&policy), last_heard_(start) {
  if (!policy.phi) return;
  // Akka's first estimate: two gaps a quarter of the interval either side of it, so that
  // a new connection starts from a deviation of interval / 4 and learns from there.
  gaps_.reserve(static_cast<std::size_t>(policy.phi->window));
  const auto interval = static_cast<double>(policy.interval.count());
  for (const double gap : {interval * 0.75, interval * 1.25}) {
    gaps_.push_back(static_cast<std::uint32_t>(gap));
    sum_ += gap;
    sum_of_squares_ += gap * gap;
  }
}

void HeartbeatDetector::heard(Millis at, bool heartbeat) {
  if (at < last_heard_) return;
  const Millis gap = at - last_heard_;
  last_heard_ = at;
  if (!heartbeat || !policy_->phi) return;
  const auto sample = static_cast<std::uint32_t>(std::min<std::int64_t>(gap.count(), UINT32_MAX));
  const auto window = static_cast<std::size_t>(policy_->phi->window);
  if (gaps_.size() < window) {
    gaps_.push_back(sample);
  } else {
    const double old = gaps_[next_gap_];
    sum_ -= old;
    sum_of_squares_ -= old * old;
    gaps_[next_gap_] = sample;
    next_gap_ = (next_gap_ + 1) % window;
  }
  sum_ += sample;
  sum_of_squares_ += static_cast<double>(sample) * sample;
}

double HeartbeatDetector::mean_gap_ms() const {
  return gaps_.empty() ? 0 : sum_ / static_cast<double>(gaps_.size());
}

double HeartbeatDetector::deviation_ms() const {
  if (gaps_.empty()) return 0;
  const double mean = mean_gap_ms();
  const double variance = sum_of_squares_ / static_cast<double>(gaps_.size()) - mean * mean;
  return std::sqrt(std::max(variance, 0.0));
}

Millis HeartbeatDetector::silence_for(double phi) const {
  const PhiAccrual& p = *policy_->phi;
  const double mean = mean_gap_ms() + static_cast<double>(p.acceptable_pause.count());
  const double deviation = std::max(deviation_ms(), static_cast<double>(p.min_deviation.count()));
  return Millis(static_cast<std::int64_t>(std::ceil(mean + y_for(phi) * deviation)));
}

Millis HeartbeatDetector::suspect_at() const {
  if (!policy_->phi) return last_heard_ + policy_->interval;
  return last_heard_ + silence_for(1);
}

Millis HeartbeatDetector::dead_at() const {
  if (!policy_->phi) return last_heard_ + policy_->timeout;
  return last_heard_ + silence_for(policy_->phi->threshold);
}

PeerHealth HeartbeatDetector::health(Millis now) const {
  if (now >= dead_at()) return PeerHealth::dead;
  if (now >= suspect_at()) return PeerHealth::suspect;
  return PeerHealth::alive;
}

double HeartbeatDetector::phi(Millis now) const {
  const auto silence = static_cast<double>((now - last_heard_).count());
  if (!policy_->phi) return silence / static_cast<double>(policy_->timeout.count()) * 8;
  const PhiAccrual& p = *policy_->phi;
  return phi_of(silence, mean_gap_ms() + static_cast<double>(p.acceptable_pause.count()),
                std::max(deviation_ms(), static_cast<double>(p.min_deviation.count())));
}

// --- the model --------------------------------------------------------------------------

Millis heartbeat_tick(const HeartbeatPolicy& policy) {
  return std::max(Millis(10), policy.interval / 16);
}

Detection predict_heartbeat(PeerFailure failure, const HeartbeatPolicy& policy, Millis tick,
                            const PathFacts& path, std::span<const Millis> seen) {
  Detection d;
  const auto with_slack = [&](Millis bound) {
    return bound + bound / 8 + tick + std::max(path.rtt, Millis(0)) + Millis(50);
  };
  if (failure == PeerFailure::process_exit) {
    d.explanation = "the peer's kernel closes the connection (FIN) at once";
    return d;
  }
  if (failure == PeerFailure::host_rebooted) {
    // A silent connection's first ping reaches a host that no longer knows it.
    d.detected = true;
    d.earliest = policy.interval;
    d.latest = with_slack(policy.interval);
    d.error = std::make_error_code(std::errc::connection_reset);
    d.cause = CloseCause::peer_reset;
    d.origin = Origin::last_message;
    d.probes = 1;
    d.explanation = "the first ping, after " + format_duration(policy.interval) +
                    " of silence, is answered with RST";
    return d;
  }
  // A steady peer's heartbeats arrive an interval apart (plus the path's jitter), so phi's
  // gaps settle at the interval with the minimum deviation: that silence is the bound.
  Millis bound = policy.timeout;
  std::string how = "nothing heard for timeout=" + format_duration(policy.timeout);
  if (policy.phi) {
    // The detector itself, taught the same gaps, says when.
    HeartbeatDetector learned(policy, Millis(0));
    if (seen.empty()) {
      for (int i = 0; i < policy.phi->window; ++i)
        learned.heard(learned.last_heard() + policy.interval, true);
    } else {
      for (const Millis gap : seen)
        learned.heard(learned.last_heard() + gap, true);
    }
    bound = learned.dead_at() - learned.last_heard();
    const auto ms = [](double value) {
      return format_seconds(Millis(static_cast<std::int64_t>(std::lround(value))));
    };
    how = "phi reaches " + format_number(policy.phi->threshold) + " after " +
          format_seconds(bound) + " of silence (" +
          (seen.empty() ? "gaps settled at the interval" : "the gaps seen") + ": mean " +
          ms(learned.mean_gap_ms()) + ", deviation " + ms(learned.deviation_ms()) + ")";
  }
  d.detected = true;
  d.earliest = bound;
  d.latest = with_slack(bound);
  d.cause = CloseCause::heartbeat_timeout;  // the application's own close: no errno
  d.origin = Origin::last_message;
  // Pings go out an interval, two intervals... after the last bytes heard, until death.
  d.probes = static_cast<int>((bound - Millis(1)) / policy.interval);
  d.explanation =
      "pings after " + format_duration(policy.interval) + " of silence go unanswered; " + how;
  return d;
}

}  // namespace tcpka
