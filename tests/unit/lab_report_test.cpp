// What `tcpka lab` prints and writes, from results made by hand: the table, the trace,
// and the HTML page.
#include "lab/lab_report.h"

#include <gtest/gtest.h>

#include <vector>

#include "lab/population_scenarios.h"
#include "lab/report_page.h"

namespace tcpka::tools::lab {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

net::CapturedPacket tcp(std::int64_t time_us, std::uint16_t from, std::uint16_t to,
                        std::uint8_t flags, std::uint32_t seq) {
  net::CapturedPacket p;
  p.time_us = time_us;
  p.source.ip[10] = p.source.ip[11] = 0xff;
  p.destination.ip[10] = p.destination.ip[11] = 0xff;
  p.source.port = from;
  p.destination.port = to;
  p.flags = flags;
  p.seq = seq;
  return p;
}

std::vector<ScenarioResult> sample_results() {
  ScenarioResult crashed;
  crashed.spec.name = "host-crash-idle";
  crashed.spec.story = "the <client> vanishes & the server must notice";
  crashed.expected.kind = Expectation::detected;
  crashed.expected.detection.detected = true;
  crashed.expected.detection.earliest = Millis(5'000);
  crashed.expected.detection.latest = Millis(5'675);
  crashed.expected.detection.error = std::make_error_code(std::errc::timed_out);
  crashed.measured.kind = Measurement::ended;
  crashed.measured.after = Millis(5'080);
  crashed.measured.error = std::make_error_code(std::errc::timed_out);
  crashed.measured.cause = CloseCause::keepalive_timeout;
  crashed.measured.probes = 3;
  crashed.pass = true;
  crashed.reference_time_us = 1'000'000;
  const std::vector<net::CapturedPacket> wire = {
      tcp(900'000, 41000, 7001, net::kSyn, 10),
      tcp(900'100, 7001, 41000, net::kSyn | net::kAck, 50),
      tcp(900'200, 41000, 7001, net::kAck, 11),
      tcp(3'000'000, 7001, 41000, net::kAck, 50),
      tcp(6'080'000, 7001, 41000, net::kRst | net::kAck, 51),
  };
  crashed.packets = trace(wire);

  ScenarioResult healed;
  healed.spec.name = "partition-heals";
  healed.spec.variant = "short outage";
  healed.expected.kind = Expectation::survives;
  healed.measured.kind = Measurement::survived;
  healed.pass = true;

  ScenarioResult broken;
  broken.spec.name = "unreachable";
  broken.expected.kind = Expectation::detected;
  broken.measured.kind = Measurement::failed_to_run;
  broken.measured.note = "nft: no such table";
  return {crashed, healed, broken};
}

TEST(LabReport, TheTableSaysWhatWasPredictedAndWhatHappened) {
  const auto results = sample_results();
  const std::string table = render_table(results, Millis(20'000));
  EXPECT_NE(table.find("5s..5.675s ETIMEDOUT"), std::string::npos) << table;
  EXPECT_NE(table.find("5.08s"), std::string::npos) << table;
  EXPECT_NE(table.find("1.016"), std::string::npos) << "the ratio\n" << table;
  EXPECT_NE(table.find("3 probes"), std::string::npos) << table;
  EXPECT_NE(table.find("partition-heals (short outage)"), std::string::npos) << table;
  EXPECT_NE(table.find("unreachable: not run: nft: no such table"), std::string::npos) << table;
  // A scenario that did not run has neither a prediction nor an OUTSIDE.
  EXPECT_NE(table.find("server   -                     not run"), std::string::npos) << table;
  EXPECT_EQ(table.find("OUTSIDE"), std::string::npos) << table;
  EXPECT_NE(table.find("2 of 3 measurements as predicted, 1 not run"), std::string::npos) << table;
}

TEST(LabReport, TheTraceCountsFromTheReference) {
  const std::string text = render_trace(sample_results()[0]);
  EXPECT_NE(text.find("-0.100s  handshake"), std::string::npos) << text;
  EXPECT_NE(text.find("+5.080s  reset"), std::string::npos) << text;
}

TEST(LabReport, ThePageIsSelfContainedAndEscaped) {
  const std::string page = render_report_page(sample_results(), Millis(20'000));
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(page, "<svg"), 3u) << "one timeline per scenario";
  EXPECT_EQ(count(page, "<svg"), count(page, "</svg>"));
  EXPECT_EQ(count(page, "<section"), count(page, "</section>"));
  EXPECT_NE(page.find("the &lt;client&gt; vanishes &amp; the server"), std::string::npos);
  EXPECT_EQ(page.find("<client>"), std::string::npos) << "unescaped text from the data";
  EXPECT_NE(page.find("<title>predicted 5s..5.675s ETIMEDOUT</title>"), std::string::npos)
      << "the predicted band";
  EXPECT_NE(page.find("5.08s ETIMEDOUT</text>"), std::string::npos) << "the detection line";
  EXPECT_EQ(page.find("http"), std::string::npos) << "nothing fetched from elsewhere";
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(LabReport, EscapesEveryHtmlSpecialCharacter) {
  EXPECT_EQ(escape_html(R"(<a href="x">'&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace tcpka::tools::lab

namespace tcpka::tools::lab {
namespace {

TEST(LabPopulation, WilsonsIntervalMatchesItsFormula) {
  // 50 of 100 at 95%: 0.5 +- 1.96 / 103.84 * sqrt(25 + 0.9604).
  const BinomialInterval half = wilson_interval(50, 100, 0.95);
  EXPECT_NEAR(half.low, 0.4038, 1e-4);
  EXPECT_NEAR(half.high, 0.5962, 1e-4);
  // None of 10: from 0 to z^2 / (n + z^2).
  const BinomialInterval none = wilson_interval(0, 10, 0.95);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 3.8416 / 13.8416, 1e-4);
  // A wider confidence, a wider interval.
  const BinomialInterval wide = wilson_interval(50, 100, 0.999);
  EXPECT_LT(wide.low, half.low);
  EXPECT_GT(wide.high, half.high);
}

TEST(LabPopulation, RowsSayTheShareAndTheSpread) {
  ScenarioResult lossy;
  lossy.spec.name = "lossy-path";
  lossy.spec.fault = Fault::lossy_path;
  lossy.spec.window = Millis(15'500);
  lossy.measured.kind = Measurement::ended;
  lossy.pass = true;
  Population killed;
  killed.connections = 500;
  killed.killed = 170;
  killed.predicted_low = 0.297;
  killed.predicted = 0.340;
  killed.low = 0.28;
  killed.high = 0.41;
  killed.confidence = 0.999;
  lossy.population = killed;

  ScenarioResult crash;
  crash.spec.name = "mass-crash";
  crash.spec.fault = Fault::mass_crash;
  crash.expected.kind = Expectation::detected;
  crash.expected.detection.detected = true;
  crash.expected.detection.earliest = Millis(5'000);
  crash.expected.detection.latest = Millis(5'675);
  crash.expected.detection.error = std::make_error_code(std::errc::timed_out);
  crash.measured.kind = Measurement::ended;
  crash.pass = true;
  Population dead;
  dead.connections = 4;
  dead.dead = 2;
  dead.detected_inside = 2;
  dead.detection_times = {Millis(5'080), Millis(5'100)};
  crash.population = dead;

  const std::vector<ScenarioResult> results = {lossy, crash};
  const std::string table = render_table(results, Millis(20'000));
  EXPECT_NE(table.find("0.297..0.340 killed in 15.5s"), std::string::npos) << table;
  EXPECT_NE(table.find("170/500 = 0.340 (99.9%: 0.280..0.410)"), std::string::npos) << table;
  EXPECT_NE(table.find("5s..5.675s ETIMEDOUT each"), std::string::npos) << table;
  EXPECT_NE(table.find("2/2 inside; p50 5.08s p99 5.1s max 5.1s"), std::string::npos) << table;
  EXPECT_NE(table.find("0 of 2 healthy closed"), std::string::npos) << table;
  EXPECT_NE(table.find("all 2 measurements as predicted"), std::string::npos) << table;
}

}  // namespace
}  // namespace tcpka::tools::lab
