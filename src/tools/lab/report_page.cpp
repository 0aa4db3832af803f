#include "lab/report_page.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "lab/lab_report.h"
#include "tcpka/errno_name.h"

namespace tcpka::tools::lab {
namespace {

// The timeline's drawing area, in SVG user units.
constexpr double kWidth = 900;
constexpr double kLeft = 40;
constexpr double kRight = 20;
constexpr double kAxisY = 70;
constexpr double kHeight = 120;
constexpr double kMarkHeight = 26;

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
table { border-collapse: collapse; font-size: 12px; }
th, td { padding: 2px 8px; text-align: left; border-bottom: 1px solid #ddd; white-space: nowrap; }
.ok { color: #176b2c; } .outside { color: #b00020; font-weight: bold; }
section { margin-top: 2em; } h2 { font-size: 16px; margin-bottom: 0; } p.story { margin-top: 0.2em; }
svg text { font: 11px system-ui, sans-serif; }
.legend span { display: inline-block; margin-right: 1em; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
)";

struct RoleStyle {
  PacketRole role;
  const char* color;
  const char* label;
};
constexpr RoleStyle kRoles[] = {
    {PacketRole::handshake, "#888888", "handshake"},
    {PacketRole::data, "#1f77b4", "data"},
    {PacketRole::retransmission, "#d62728", "retransmission"},
    {PacketRole::ack, "#bbbbbb", "ack"},
    {PacketRole::probe, "#ff7f0e", "probe"},
    {PacketRole::probe_answer, "#2ca02c", "probe answer"},
    {PacketRole::fin, "#9467bd", "fin"},
    {PacketRole::reset, "#000000", "reset"},
    {PacketRole::icmp_unreachable, "#e377c2", "ICMP unreachable"},
    {PacketRole::other, "#cccccc", "other"},
};

const char* color_of(PacketRole role) {
  for (const RoleStyle& style : kRoles) {
    if (style.role == role) return style.color;
  }
  return "#cccccc";
}

double seconds(Millis duration) {
  return static_cast<double>(duration.count()) / 1000.0;
}

// Maps seconds since the reference moment to x.
struct Scale {
  double from = 0;
  double to = 1;

  double x(double second) const {
    return kLeft + (second - from) / (to - from) * (kWidth - kLeft - kRight);
  }
};

// When the detection, if any, happened (seconds since the reference). A population has
// many: population_marks() draws them.
std::optional<double> detected_at(const ScenarioResult& r) {
  if (r.population) return std::nullopt;
  const Measurement& m = r.measured;
  if (m.kind == Measurement::ended || m.kind == Measurement::dropped) return seconds(m.after);
  return std::nullopt;
}

Scale scale_for(const ScenarioResult& r) {
  double from = 0;
  double to = 1;
  for (const TracedPacket& t : r.packets) {
    const double at = static_cast<double>(t.packet.time_us - r.reference_time_us) / 1e6;
    from = std::min(from, at);
    to = std::max(to, at);
  }
  if (auto at = detected_at(r)) to = std::max(to, *at);
  if (const auto& p = r.population) {
    if (!p->detection_times.empty()) to = std::max(to, seconds(p->detection_times.back()));
    if (r.spec.window > Millis(0)) to = std::max(to, seconds(r.spec.window));
  }
  if (r.expected.kind == Expectation::detected) {
    to = std::max(to, seconds(r.expected.detection.latest));
  }
  const double margin = (to - from) * 0.05 + 0.1;
  return {from - margin, to + margin};
}

std::string axis(const Scale& scale) {
  // About ten ticks, at a round step.
  const double span = scale.to - scale.from;
  const double raw = span / 10;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / magnitude < 2   ? 2 * magnitude
                      : raw / magnitude < 5 ? 5 * magnitude
                                            : 10 * magnitude;
  std::string svg = fmt::format(R"(<line x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{}" stroke="#444"/>)",
                                scale.x(scale.from), kAxisY, scale.x(scale.to), kAxisY);
  // Whole steps, counted as integers so that rounding cannot add or drop a tick.
  const auto first = static_cast<long>(std::ceil(scale.from / step));
  const auto last = static_cast<long>(std::floor(scale.to / step));
  for (long n = first; n <= last; ++n) {
    const double tick = static_cast<double>(n) * step;
    svg += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#444"/>)"
                       R"(<text x="{0:.1f}" y="{3}" text-anchor="middle">{4:g}s</text>)",
                       scale.x(tick), kAxisY, kAxisY + 4, kAxisY + 16,
                       std::round(tick * 1000) / 1000 + 0.0);  // + 0.0: no "-0s"
  }
  return svg;
}

std::string predicted_band(const ScenarioResult& r, const Scale& scale) {
  if (r.expected.kind != Expectation::detected) return "";
  const double early = scale.x(seconds(r.expected.detection.earliest));
  const double late = scale.x(seconds(r.expected.detection.latest));
  return fmt::format(
      R"(<rect x="{:.1f}" y="6" width="{:.1f}" height="{}" fill="#fff3c4" stroke="#e0c060">)"
      R"(<title>predicted {}</title></rect>)",
      early, std::max(late - early, 1.0), kHeight - 30,
      escape_html(predicted_text(r.expected, Millis(0))));
}

// A population's ends: how many in each slice of the axis, as bars above it (the tallest
// reaching the top), each with its count.
std::string population_marks(const ScenarioResult& r, const Scale& scale) {
  if (!r.population || r.population->detection_times.empty()) return "";
  constexpr int kBins = 120;
  const double width = (scale.to - scale.from) / kBins;
  std::vector<int> counts(kBins, 0);
  for (const Millis time : r.population->detection_times) {
    const auto bin = static_cast<int>((seconds(time) - scale.from) / width);
    ++counts[static_cast<std::size_t>(std::clamp(bin, 0, kBins - 1))];
  }
  const int tallest = *std::max_element(counts.begin(), counts.end());
  const double room = kAxisY - 10;
  std::string svg;
  for (int bin = 0; bin < kBins; ++bin) {
    const int count = counts[static_cast<std::size_t>(bin)];
    if (count == 0) continue;
    const double from = scale.from + bin * width;
    const double height = std::max(1.0, room * count / tallest);
    svg += fmt::format(
        R"(<rect class="ended" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#b00020">)"
        R"(<title>{} ended between {:.3f}s and {:.3f}s</title></rect>)",
        scale.x(from), kAxisY - height, std::max(1.0, scale.x(from + width) - scale.x(from) - 0.5),
        height, count, from, from + width);
  }
  return svg;
}

std::string detection_line(const ScenarioResult& r, const Scale& scale) {
  const auto at = detected_at(r);
  if (!at) return "";
  const double x = scale.x(*at);
  // Near the right edge the label goes to the left of the line.
  const bool left = x > kWidth * 0.8;
  const std::string label =
      r.measured.kind == Measurement::ended
          ? fmt::format("{} {}", format_seconds(r.measured.after),
                        r.measured.error ? errno_name(r.measured.error) : std::string("EOF"))
          : fmt::format("dropped {}", format_seconds(r.measured.after));
  return fmt::format(
      R"(<line x1="{0:.1f}" y1="4" x2="{0:.1f}" y2="{1}" stroke="#b00020" stroke-width="2"/>)"
      R"(<text x="{2:.1f}" y="14" fill="#b00020" text-anchor="{3}">{4}</text>)",
      x, kHeight - 22, left ? x - 4 : x + 4, left ? "end" : "start", escape_html(label));
}

// Packets from the detector above the axis; from its peer, and the ICMP the network sends
// it, below.
std::string packet_marks(const ScenarioResult& r, const Scale& scale) {
  const bool server_detects = r.spec.detector == Host::server;
  std::string svg;
  for (const TracedPacket& t : r.packets) {
    const double at = static_cast<double>(t.packet.time_us - r.reference_time_us) / 1e6;
    const bool tcp = t.packet.kind == net::CapturedPacket::kTcp;
    const bool above = tcp && (t.packet.source.port == kServerPort) == server_detects;
    const double y = above ? kAxisY - kMarkHeight - 2 : kAxisY + 20;
    svg += fmt::format(
        R"(<rect x="{:.1f}" y="{:.1f}" width="3" height="{}" fill="{}"><title>{}</title></rect>)",
        scale.x(at) - 1.5, y, kMarkHeight - 8, color_of(t.role),
        escape_html(fmt::format("{:+.3f}s {}: {}", at, to_string(t.role), format_tcpdump(t))));
  }
  return svg;
}

std::string timeline(const ScenarioResult& r) {
  const Scale scale = scale_for(r);
  const std::string detector = who_detects(r.spec);
  // What arrives from below: the peer's segments, and the router's ICMP.
  const std::string peer = r.spec.detector == Host::server ? "client, router" : "server, router";
  return fmt::format(
      R"(<svg viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img">)"
      R"(<text x="2" y="{2}">{3}</text><text x="2" y="{4}">{5}</text>{6}{7}{8}{9}{10}</svg>)",
      kWidth, kHeight, kAxisY - 14, detector, kAxisY + 34, peer, predicted_band(r, scale),
      axis(scale), packet_marks(r, scale), detection_line(r, scale), population_marks(r, scale));
}

std::string results_table(std::span<const ScenarioResult> results, Millis cap) {
  std::string html =
      "<table><tr><th>scenario</th><th>detects</th><th>predicted</th><th>measured</th>"
      "<th>verdict</th></tr>\n";
  for (const ScenarioResult& r : results) {
    html += fmt::format(
        "<tr><td><a href=\"#s{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td "
        "class=\"{}\">{}</td></tr>\n",
        &r - results.data(), escape_html(r.spec.title()), who_detects(r.spec),
        escape_html(predicted_text(r, cap)), escape_html(measured_text(r, cap)),
        r.pass ? "ok" : "outside", escape_html(verdict(r)));
  }
  return html + "</table>\n";
}

std::string legend() {
  std::string html = "<p class=\"legend\">";
  for (const RoleStyle& style : kRoles)
    html +=
        fmt::format(R"(<span><i style="background:{}"></i>{}</span>)", style.color, style.label);
  return html + "</p>\n";
}

}  // namespace

std::string escape_html(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string render_report_page(std::span<const ScenarioResult> results, Millis cap) {
  const auto failed = std::count_if(results.begin(), results.end(),
                                    [](const ScenarioResult& r) { return !r.pass; });
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>tcpka lab</title><style>{}</style></head><body>\n<h1>tcpka lab</h1>\n<p>{}</p>\n",
      kStyle,
      failed == 0
          ? fmt::format("All {} scenarios as predicted.", results.size())
          : fmt::format("{} of {} scenarios outside the prediction.", failed, results.size()));
  html += results_table(results, cap);
  html += legend();
  for (const ScenarioResult& r : results) {
    html += fmt::format(
        "<section id=\"s{}\"><h2>{}</h2><p class=\"story\">{} &mdash; predicted {}, measured "
        "{}.</p>\n{}\n</section>\n",
        &r - results.data(), escape_html(r.spec.title()), escape_html(r.spec.story),
        escape_html(predicted_text(r, cap)), escape_html(measured_text(r, cap)), timeline(r));
  }
  return html + "</body></html>\n";
}

}  // namespace tcpka::tools::lab
