// tcpka watch's parts that need no kernel: the cause of a death from what each source
// saw, the bounded service labels, the exposition text, and the close line's additions.
#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/close_event.h"
#include "host/tcp_death.h"
#include "watch/connection_survey.h"
#include "watch/watch_metrics.h"

namespace tcpka::tools {
namespace {

using host::TcpDeath;

// As the BPF source reports a death: the state it left and sk_err.
TcpDeath seen_by_bpf(TcpConnectionState old_state, int error = 0) {
  TcpDeath death;
  death.old_state = old_state;
  if (error != 0) death.error = std::error_code(error, std::generic_category());
  death.keepalive_on = false;
  death.user_timeout = Millis(0);
  death.probes = 0;
  death.retransmits = 0;
  death.unsent_bytes = 0;
  death.in_flight_bytes = 0;
  return death;
}

TEST(DeathCause, WithoutAnErrorWhoSentTheFirstFinDecides) {
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::last_ack)), CloseCause::peer_closed);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::close_wait)), CloseCause::peer_closed);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::fin_wait2)), CloseCause::local);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::closing)), CloseCause::local);
  // close() with unread data or SO_LINGER 0: this side's abort.
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::established)), CloseCause::local);
}

TEST(DeathCause, TheErrnoNamesResetsUnreachableAndAborts) {
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::established, ECONNRESET)),
            CloseCause::peer_reset);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::close_wait, EPIPE)), CloseCause::peer_reset);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::established, EHOSTUNREACH)),
            CloseCause::unreachable);
  EXPECT_EQ(cause_of(seen_by_bpf(TcpConnectionState::established, ECONNABORTED)),
            CloseCause::local);
}

TEST(DeathCause, ATimeoutIsToldByWhatWasQueuedAndWhichProbesWereOut) {
  TcpDeath keepalive = seen_by_bpf(TcpConnectionState::established, ETIMEDOUT);
  keepalive.keepalive_on = true;
  keepalive.probes = 3;
  EXPECT_EQ(cause_of(keepalive), CloseCause::keepalive_timeout);

  TcpDeath in_flight = seen_by_bpf(TcpConnectionState::established, ETIMEDOUT);
  in_flight.in_flight_bytes = 1000;
  in_flight.retransmits = 15;
  EXPECT_EQ(cause_of(in_flight), CloseCause::retransmit_timeout);
  in_flight.user_timeout = Millis(2'000);
  in_flight.retransmits = 4;
  EXPECT_EQ(cause_of(in_flight), CloseCause::user_timeout);

  TcpDeath shut_window = seen_by_bpf(TcpConnectionState::established, ETIMEDOUT);
  shut_window.unsent_bytes = 65'536;
  shut_window.probes = 15;
  EXPECT_EQ(cause_of(shut_window), CloseCause::zero_window_timeout);
}

TEST(DeathCause, FromSockDiagOnlyAKeepaliveDeathCanBeTold) {
  TcpDeath probed;
  probed.probes = 9;
  probed.retransmits = 0;
  EXPECT_EQ(cause_of(probed), CloseCause::keepalive_timeout);
  TcpDeath retransmitted;
  retransmitted.retransmits = 6;
  EXPECT_EQ(cause_of(retransmitted), CloseCause::unknown) << "user or retransmission timeout?";
  EXPECT_EQ(cause_of(TcpDeath{}), CloseCause::unknown) << "peer_closed or local?";
}

TEST(DeathCause, OnlyTheKernelsOwnFindingsHaveADetectionTime) {
  EXPECT_TRUE(host::detected_by_kernel(CloseCause::keepalive_timeout));
  EXPECT_TRUE(host::detected_by_kernel(CloseCause::user_timeout));
  EXPECT_FALSE(host::detected_by_kernel(CloseCause::peer_reset));
  EXPECT_FALSE(host::detected_by_kernel(CloseCause::local));
}

TEST(BoundedLabels, TheFirstNKeepTheirNameForGoodAndTheRestAreOther) {
  BoundedLabels labels(2);
  EXPECT_EQ(labels.label("/a.service"), "/a.service");
  EXPECT_EQ(labels.label("/b.service"), "/b.service");
  EXPECT_EQ(labels.label("/c.service"), "other");
  EXPECT_EQ(labels.label("/a.service"), "/a.service");
  EXPECT_EQ(labels.label("/c.service"), "other");
}

TEST(ServiceName, ACgroupThenAListenersPortThenUnknown) {
  const std::set<std::uint16_t> listening{8080};
  EXPECT_EQ(service_name("/system.slice/nginx.service", 8080, listening),
            "/system.slice/nginx.service");
  EXPECT_EQ(service_name("/", 8080, listening), "port 8080");
  EXPECT_EQ(service_name("", 8080, listening), "port 8080");
  EXPECT_EQ(service_name("", 41234, listening), "unknown");
}

// The value of the series `series` (its whole name with labels) in `text`.
std::optional<std::string> value_of(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(WatchMetrics, CountsByCauseAndServiceWithinTheLabelBound) {
  WatchMetrics metrics("bpf", 1);
  metrics.count_death("/a", CloseCause::peer_closed, std::nullopt);
  metrics.count_death("/b", CloseCause::peer_closed, std::nullopt);
  metrics.count_death("/c", CloseCause::peer_closed, std::nullopt);
  const std::string text = metrics.render();
  EXPECT_EQ(
      value_of(text, R"(tcpka_watch_connections_closed_total{cause="peer_closed",service="/a"})"),
      "1")
      << text;
  EXPECT_EQ(
      value_of(text,
               R"(tcpka_watch_connections_closed_total{cause="peer_closed",service="other"})"),
      "2")
      << text;
  EXPECT_EQ(value_of(text, "tcpka_watch_events_total"), "3");
  EXPECT_EQ(value_of(text, R"(tcpka_watch_source_info{source="bpf"})"), "1");
}

TEST(WatchMetrics, TheDetectionHistogramIsCumulative) {
  WatchMetrics metrics("bpf", 20);
  metrics.count_death("/a", CloseCause::keepalive_timeout, Millis(3'000));
  metrics.count_death("/a", CloseCause::keepalive_timeout, Millis(7'870'000));
  metrics.count_death("/a", CloseCause::keepalive_timeout, Millis(20'000'000));
  const std::string text = metrics.render();
  const auto bucket = [&](const std::string& le) {
    return value_of(text, R"(tcpka_watch_detection_seconds_bucket{cause="keepalive_timeout",le=")" +
                              le + "\"}");
  };
  EXPECT_EQ(bucket("1"), "0") << text;
  EXPECT_EQ(bucket("5"), "1") << text;
  EXPECT_EQ(bucket("7200"), "1") << text;
  EXPECT_EQ(bucket("14400"), "2") << text;
  EXPECT_EQ(bucket("+Inf"), "3") << text;
  EXPECT_EQ(value_of(text, R"(tcpka_watch_detection_seconds_count{cause="keepalive_timeout"})"),
            "3");
  EXPECT_EQ(value_of(text, R"(tcpka_watch_detection_seconds_sum{cause="keepalive_timeout"})"),
            "27873");
}

TEST(WatchMetrics, TheEstablishedGaugeIsReplacedAndLabelsAreEscaped) {
  WatchMetrics metrics("sock_diag", 20);
  metrics.set_established({{"/odd\"name", "on", 2}, {"/b", "off", 5}});
  metrics.set_established({{"/b", "off", 4}});
  metrics.set_lost(0, 7);
  const std::string text = metrics.render();
  EXPECT_EQ(value_of(text, R"(tcpka_watch_connections_established{keepalive="off",service="/b"})"),
            "4");
  EXPECT_EQ(text.find("odd"), std::string::npos) << "a survey replaces the last one: " << text;
  metrics.set_established({{"/odd\"name", "on", 2}});
  EXPECT_NE(metrics.render().find(R"(service="/odd\"name")"), std::string::npos);
  EXPECT_EQ(value_of(text, R"(tcpka_watch_events_lost_total{source="netlink"})"), "7");
}

TEST(CloseEvent, AWatchersLineNamesTheTimeTheOwnerAndTheCgroup) {
  CloseEvent event;
  event.peer = "10.0.0.2:5432";
  event.local = "10.0.0.1:40000";
  event.cause = CloseCause::peer_reset;
  event.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'687'845'123));
  event.pid = 812;
  event.process = "nginx";
  event.cgroup = "/system.slice/nginx.service";
  EXPECT_EQ(format_close_event(event, LogFormat::human),
            "close 10.0.0.2:5432 local 10.0.0.1:40000 after ? in 0B out 0B cause peer_reset at "
            "2025-12-02T15:04:05.123Z pid 812 (nginx) cgroup /system.slice/nginx.service\n");
  const auto json = nlohmann::json::parse(format_close_event(event, LogFormat::json));
  EXPECT_TRUE(json["duration_ms"].is_null());
  EXPECT_EQ(json["time"], "2025-12-02T15:04:05.123Z");
  EXPECT_EQ(json["pid"], 812);
  EXPECT_EQ(json["process"], "nginx");
  EXPECT_EQ(json["cgroup"], "/system.slice/nginx.service");
}

}  // namespace
}  // namespace tcpka::tools
