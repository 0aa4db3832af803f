#include "watch/watch_metrics.h"

#include <fmt/core.h>

#include <algorithm>

namespace tcpka::tools {
namespace {

// A label value as the exposition format quotes it: backslash, quote and newline escaped.
std::string quoted(const std::string& value) {
  std::string text;
  text.reserve(value.size() + 2);
  text += '"';
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      text += '\\';
      text += c;
    } else if (c == '\n') {
      text += "\\n";
    } else {
      text += c;
    }
  }
  return text + '"';
}

void describe(std::string& text, const char* name, const char* type, const char* help) {
  text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

const std::string& BoundedLabels::label(const std::string& name) {
  const auto found = admitted_.find(name);
  if (found != admitted_.end()) return *found;
  if (admitted_.size() >= limit_) return other_;
  return *admitted_.insert(name).first;
}

void WatchMetrics::count_death(const std::string& service, CloseCause cause,
                               std::optional<Millis> detection) {
  ++deaths_;
  ++closed_[{services_.label(service), cause}];
  if (!detection) return;
  Histogram& histogram = detection_[cause];
  const double seconds = static_cast<double>(detection->count()) / 1000.0;
  const auto bucket = std::lower_bound(kDetectionBuckets.begin(), kDetectionBuckets.end(), seconds);
  if (bucket != kDetectionBuckets.end()) {
    ++histogram.buckets[static_cast<std::size_t>(bucket - kDetectionBuckets.begin())];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

void WatchMetrics::set_established(std::vector<EstablishedCount> counts) {
  std::stable_sort(counts.begin(), counts.end(),
                   [](const EstablishedCount& a, const EstablishedCount& b) {
                     return a.connections > b.connections;
                   });
  established_.clear();
  for (const EstablishedCount& count : counts) {
    established_[{services_.label(count.service), count.keepalive}] += count.connections;
  }
}

std::string WatchMetrics::render() const {
  std::string text;
  describe(text, "tcpka_watch_source_info", "gauge",
           "Where tcpka watch learns of deaths: bpf (the socket tracepoints) or sock_diag.");
  text += fmt::format("tcpka_watch_source_info{{source={}}} 1\n", quoted(source_));

  describe(text, "tcpka_watch_events_total", "counter", "TCP connections seen to end.");
  text += fmt::format("tcpka_watch_events_total {}\n", deaths_);

  describe(text, "tcpka_watch_connections_closed_total", "counter",
           "TCP connections that ended, by cause and service (cgroup, or the local port of "
           "a listener).");
  for (const auto& [key, count] : closed_) {
    text += fmt::format("tcpka_watch_connections_closed_total{{cause={},service={}}} {}\n",
                        quoted(std::string(to_string(key.second))), quoted(key.first), count);
  }

  describe(text, "tcpka_watch_connections_established", "gauge",
           "Established TCP connections at the last survey, by service and keepalive.");
  for (const auto& [key, count] : established_) {
    text += fmt::format("tcpka_watch_connections_established{{keepalive={},service={}}} {}\n",
                        quoted(key.second), quoted(key.first), count);
  }

  describe(text, "tcpka_watch_detection_seconds", "histogram",
           "Seconds from the peer's last segment to the death, for deaths the kernel found.");
  for (const auto& [cause, histogram] : detection_) {
    const std::string label = quoted(std::string(to_string(cause)));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kDetectionBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      text += fmt::format("tcpka_watch_detection_seconds_bucket{{cause={},le=\"{}\"}} {}\n", label,
                          kDetectionBuckets[i], cumulative);
    }
    text += fmt::format("tcpka_watch_detection_seconds_bucket{{cause={},le=\"+Inf\"}} {}\n", label,
                        histogram.count);
    text += fmt::format("tcpka_watch_detection_seconds_sum{{cause={}}} {}\n", label, histogram.sum);
    text +=
        fmt::format("tcpka_watch_detection_seconds_count{{cause={}}} {}\n", label, histogram.count);
  }

  describe(text, "tcpka_watch_events_lost_total", "counter",
           "Deaths not reported: ring-buffer drops (exact), or netlink overruns (ENOBUFS, "
           "each losing one or more).");
  text += fmt::format("tcpka_watch_events_lost_total{{source=\"ring_buffer\"}} {}\n",
                      lost_ring_buffer_);
  text +=
      fmt::format("tcpka_watch_events_lost_total{{source=\"netlink\"}} {}\n", netlink_overruns_);
  return text;
}

}  // namespace tcpka::tools
