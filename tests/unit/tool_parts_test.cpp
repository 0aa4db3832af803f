// The small parts of serve and connect: sizes, source ranges, the latency histogram, the
// idle wheel, close-event lines and the counters' renderings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/byte_size.h"
#include "cli/close_event.h"
#include "connect/latency_histogram.h"
#include "connect/source_addresses.h"
#include "net/compact_address.h"
#include "serve/connection_table.h"
#include "serve/server_stats.h"

namespace tcpka::tools {
namespace {

using Micros = LatencyHistogram::Micros;

TEST(ByteSize, ReadsBinaryUnits) {
  EXPECT_EQ(*parse_byte_size("65536"), 65'536u);
  EXPECT_EQ(*parse_byte_size("64KiB"), 65'536u);
  EXPECT_EQ(*parse_byte_size("64k"), 65'536u);
  EXPECT_EQ(*parse_byte_size("1MiB"), 1u << 20);
  EXPECT_EQ(*parse_byte_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("lots").error().message,
            "'lots' is not a size: expected a number such as 64KiB");
  EXPECT_EQ(parse_byte_size("5 parsecs").error().message,
            "'5 parsecs' is not a size: unknown unit (use B, KiB, MiB or GiB)");
  EXPECT_FALSE(parse_byte_size("99999999999G").ok());
  EXPECT_EQ(parse_byte_size("1\nG").error().message,
            "'1\\nG' is not a size: unknown unit (use B, KiB, MiB or GiB)");
}

TEST(SourceAddresses, ReadsRangesAndLists) {
  auto range = parse_source_addresses("127.0.0.2-127.0.0.250");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->size(), 249u);
  EXPECT_EQ(net::to_string(range->front()), "127.0.0.2:0");
  EXPECT_EQ(net::to_string(range->back()), "127.0.0.250:0");
  auto list = parse_source_addresses("127.0.0.5,::1,10.0.0.1-10.0.0.2");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 4u);
  EXPECT_EQ(net::to_string((*list)[1]), "[::1]:0");
}

TEST(SourceAddresses, RejectsWithAReason) {
  EXPECT_EQ(parse_source_addresses("1.2.3").error().message,
            "--source '1.2.3': '1.2.3' is not an IP address or range");
  EXPECT_EQ(parse_source_addresses("10.0.0.9-10.0.0.1").error().message,
            "--source '10.0.0.9-10.0.0.1': the range ends before it starts");
  EXPECT_EQ(parse_source_addresses("10.0.0.0-10.2.0.0").error().message,
            "--source '10.0.0.0-10.2.0.0': a range holds at most 65536 addresses");
  // 2^32 addresses, which a count in 32 bits took for none, and the loop for all of them.
  EXPECT_EQ(parse_source_addresses("0.0.0.0-255.255.255.255").error().message,
            "--source '0.0.0.0-255.255.255.255': a range holds at most 65536 addresses");
  EXPECT_EQ(parse_source_addresses("10.0.0.1,,10.0.0.2").error().message,
            "--source '10.0.0.1,,10.0.0.2': an empty part");
  EXPECT_EQ(parse_source_addresses("::1-::5").error().message,
            "--source '::1-::5': a range is FIRST-LAST of two IPv4 addresses");
  EXPECT_EQ(parse_source_addresses("1.2.3\n").error().message,
            "--source '1.2.3\\n': '1.2.3\\n' is not an IP address or range");
}

// Each range was bounded, but not their number: 20 KB of "0.0.0.0-0.0.255.255," asked
// for 65 million addresses, 8.9 GB of them.
TEST(SourceAddresses, BoundsTheAddressesInAll) {
  EXPECT_EQ(parse_source_addresses("10.0.0.0-10.0.255.255").value().size(), 65'536u);
  EXPECT_EQ(parse_source_addresses("10.0.0.0-10.0.255.254,::1").value().size(), 65'536u);
  EXPECT_EQ(parse_source_addresses("10.0.0.0-10.0.255.255,::1").error().message,
            "--source '10.0.0.0-10.0.255.255,::1': at most 65536 addresses in all");
  std::string ranges;
  for (int i = 0; i < 1000; ++i)
    ranges += "0.0.0.0-0.0.255.255,";
  ranges.pop_back();
  auto many = parse_source_addresses(ranges);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message.find("at most 65536 addresses in all"), std::string::npos);
}

TEST(LatencyHistogram, PercentilesWithinABucket) {
  LatencyHistogram histogram;
  for (int i = 1; i <= 1000; ++i)
    histogram.record(Micros(i));
  EXPECT_EQ(histogram.count(), 1000u);
  EXPECT_EQ(histogram.max(), Micros(1000));
  // Within 1/16 above the exact value.
  const auto p50 = histogram.percentile(0.5).count();
  EXPECT_GE(p50, 500);
  EXPECT_LE(p50, 500 + 500 / 16);
  const auto p99 = histogram.percentile(0.99).count();
  EXPECT_GE(p99, 990);
  EXPECT_LE(p99, 1000);
  EXPECT_EQ(histogram.percentile(1.0), Micros(1000));
}

TEST(LatencyHistogram, SmallAndHugeValues) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.percentile(0.5), Micros(0));
  histogram.record(Micros(3));
  EXPECT_EQ(histogram.percentile(0.5), Micros(3));
  histogram.record(Micros(std::int64_t{1} << 50));  // beyond the last bucket: kept as max
  EXPECT_EQ(histogram.max(), Micros(std::int64_t{1} << 50));
}

TEST(ConnectionTable, ASlotHasOneHolderAtATime) {
  auto table = ConnectionTable::create(1'024);
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_TRUE(table->holds(1'023));
  EXPECT_FALSE(table->holds(1'024));
  EXPECT_FALSE(table->holds(-1));
  EXPECT_FALSE(table->held_by(9, 0));
  ASSERT_TRUE(table->try_hold(9, 0));
  EXPECT_TRUE(table->held_by(9, 0));
  EXPECT_FALSE(table->held_by(9, 1));
  EXPECT_FALSE(table->try_hold(9, 1)) << "worker 0 still holds it";
  (*table)[9].bytes_in = 42;
  table->let_go(9);
  EXPECT_FALSE(table->held_by(9, 0));
  ASSERT_TRUE(table->try_hold(9, 1));
  EXPECT_EQ((*table)[9].bytes_in, 0u) << "a new holder gets a clean slot";
  EXPECT_EQ((*table)[9].state, Connection::kOpen);
}

TEST(ConnectionTable, BytesOutAreWhatCameInLessWhatWaits) {
  Connection c;
  c.bytes_in = 100;
  EXPECT_EQ(c.bytes_out(), 100u);
  OutputBuffer pending{std::string(40, 'x'), 10};
  c.pending = &pending;
  EXPECT_EQ(c.bytes_out(), 70u);
}

CloseEvent sample_event() {
  CloseEvent event;
  event.peer = "127.0.0.1:51234";
  event.local = "127.0.0.1:7001";
  event.duration = Millis(12'503);
  event.bytes_in = 5;
  event.bytes_out = 5;
  event.cause = CloseCause::keepalive_timeout;
  event.error = std::make_error_code(std::errc::timed_out);
  event.since_last_received = Millis(12'002);
  event.probes = 5;
  event.retransmits = 0;
  return event;
}

TEST(CloseEvent, HumanLine) {
  EXPECT_EQ(format_close_event(sample_event(), LogFormat::human),
            "close 127.0.0.1:51234 local 127.0.0.1:7001 after 12.503s in 5B out 5B cause "
            "keepalive_timeout errno ETIMEDOUT silent 12.002s probes 5 retrans 0\n");
  EXPECT_EQ(format_close_event(sample_event(), LogFormat::none), "");
}

TEST(CloseEvent, JsonLine) {
  const auto json = nlohmann::json::parse(format_close_event(sample_event(), LogFormat::json));
  EXPECT_EQ(json["event"], "close");
  EXPECT_EQ(json["cause"], "keepalive_timeout");
  EXPECT_EQ(json["errno"], "ETIMEDOUT");
  EXPECT_EQ(json["duration_ms"], 12'503);
  EXPECT_EQ(json["probes"], 5);
  CloseEvent bare;
  const auto minimal = nlohmann::json::parse(format_close_event(bare, LogFormat::json));
  EXPECT_TRUE(minimal["errno"].is_null());
  EXPECT_TRUE(minimal["probes"].is_null());
}

TEST(LogFormat, Parses) {
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("yaml").has_value());
}

TEST(ServerStats, SumsWorkersAndRenders) {
  std::vector<WorkerCounters> workers(2);
  workers[0].count(workers[0].accepted, 3);
  workers[1].count(workers[1].accepted, 2);
  workers[0].count(workers[0].closed, 2);
  workers[0].count(workers[0].closed_by_cause[static_cast<int>(CloseCause::peer_closed)], 2);
  workers[1].count(workers[1].bytes_in, 100);
  const ServerTotals totals = ServerTotals::sum(workers);
  EXPECT_EQ(totals.accepted, 5u);
  EXPECT_EQ(totals.open(), 3u);
  EXPECT_NE(render_summary(totals).find("served 5 connections (3 open); closed 2: peer_closed 2"),
            std::string::npos);
  const std::string prometheus = render_prometheus(totals);
  EXPECT_NE(prometheus.find("# TYPE tcpka_connections_open gauge\ntcpka_connections_open 3\n"),
            std::string::npos);
  EXPECT_NE(prometheus.find("tcpka_connections_closed_total{cause=\"peer_closed\"} 2\n"),
            std::string::npos);
  const auto json = nlohmann::json::parse(render_summary_json(totals));
  EXPECT_EQ(json["closed_by_cause"]["peer_closed"], 2);
}

TEST(CompactAddress, RoundTripsBothFamilies) {
  for (const char* text : {"127.0.0.1:7001", "[::1]:80", "[2001:db8::5]:65535"}) {
    auto address = net::resolve(*net::parse_endpoint(text));
    ASSERT_TRUE(address.ok());
    const net::CompactAddress compact = net::compact(address->front());
    EXPECT_EQ(net::to_string(compact), text);
  }
  EXPECT_TRUE(net::compact(net::resolve(*net::parse_endpoint("10.1.2.3:1"))->front()).is_ipv4());
}

}  // namespace
}  // namespace tcpka::tools
