// What `tcpka lab` prints and writes, from results made by hand: the table, the trace,
// and the HTML page.
#include "lab/lab_report.h"

#include <gtest/gtest.h>

#include <vector>

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
  EXPECT_NE(table.find("2 of 3 measurements as predicted, 1 not run"), std::string::npos)
      << table;
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
