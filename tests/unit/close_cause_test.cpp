#include "tcpka/close_cause.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "platform.h"

namespace tcpka {
namespace {

std::error_code code(std::errc value) {
  return std::make_error_code(value);
}

CloseEvidence timed_out(TcpState state, bool keepalive = true, bool user_timeout = false) {
  CloseEvidence evidence;
  evidence.error = code(std::errc::timed_out);
  evidence.keepalive_armed = keepalive;
  evidence.user_timeout_armed = user_timeout;
  evidence.last_state = state;
  return evidence;
}

TcpState counters(int probes, int retransmits, std::uint32_t unacked, std::uint32_t notsent,
                  int backoff = 0) {
  TcpState state;
  state.state = TcpConnectionState::closed;
  state.probes = probes;
  state.retransmits = retransmits;
  state.unacked = unacked;
  state.notsent_bytes = notsent;
  state.backoff = backoff;
  return state;
}

TEST(ClassifyClose, EndOfFileIsThePeerClosing) {
  CloseEvidence evidence;
  evidence.end_of_file = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::peer_closed);
}

CloseCause classified(std::error_code error) {
  CloseEvidence evidence;
  evidence.error = error;
  return classify_close(evidence);
}

TEST(ClassifyClose, ResetsAndRefusals) {
  EXPECT_EQ(classified(code(std::errc::connection_reset)), CloseCause::peer_reset);
  EXPECT_EQ(classified(code(std::errc::broken_pipe)), CloseCause::peer_reset);
  EXPECT_EQ(classified(code(std::errc::connection_refused)), CloseCause::connect_refused);
}

TEST(ClassifyClose, AnAbortOnThisHostIsLocal) {
  EXPECT_EQ(classified(code(std::errc::connection_aborted)), CloseCause::local);
}

TEST(ClassifyClose, IcmpErrorsAreUnreachable) {
  for (std::errc error :
       {std::errc::host_unreachable, std::errc::network_unreachable, std::errc::network_down}) {
    EXPECT_EQ(classified(code(error)), CloseCause::unreachable);
  }
  EXPECT_EQ(classified(detail::host_down_error()), CloseCause::unreachable);
}

TEST(ClassifyClose, PlatformCodesMatchAsConditions) {
  // ETIMEDOUT as the OS reports it (errno or WSAETIMEDOUT, system_category), not as
  // std::errc.
  CloseEvidence evidence = timed_out(TcpState{});
  evidence.error = detail::os_error(std::errc::timed_out);
  EXPECT_EQ(evidence.error.category(), std::system_category());
  EXPECT_EQ(classify_close(evidence), CloseCause::keepalive_timeout);
}

// The counters below are what Linux 6.18 leaves in TCP_INFO after each kind of timeout
// (measured: tests/integration/dead_peer_test.cpp checks them on every run).
TEST(ClassifyClose, KeepaliveTimeoutLeavesProbes) {
  EXPECT_EQ(classify_close(timed_out(counters(2, 0, 0, 0))), CloseCause::keepalive_timeout);
}

TEST(ClassifyClose, RetransmissionTimeoutLeavesRetransmits) {
  EXPECT_EQ(classify_close(timed_out(counters(0, 3, 0, 0))), CloseCause::retransmit_timeout);
  EXPECT_EQ(classify_close(timed_out(counters(0, 3, 0, 0), true, true)), CloseCause::user_timeout);
  // Taken before the end: data still in flight.
  EXPECT_EQ(classify_close(timed_out(counters(0, 0, 1, 0), true, true)), CloseCause::user_timeout);
}

TEST(ClassifyClose, ShutWindowLeavesUnsentData) {
  EXPECT_EQ(classify_close(timed_out(counters(5, 0, 0, 2'803'712))),
            CloseCause::zero_window_timeout);
  EXPECT_EQ(classify_close(timed_out(counters(3, 0, 0, 2'803'712), true, true)),
            CloseCause::user_timeout);
  // A hung peer answered every probe: no probes counted, but the data is still queued.
  EXPECT_EQ(classify_close(timed_out(counters(0, 0, 0, 2'803'712), false, true)),
            CloseCause::user_timeout);
  // Taken while probing, before the end: backoff grows.
  EXPECT_EQ(classify_close(timed_out(counters(1, 0, 0, 0, 2))), CloseCause::zero_window_timeout);
}

TEST(ClassifyClose, WithoutCountersTheArmedTimerDecides) {
  CloseEvidence evidence;
  evidence.error = code(std::errc::timed_out);
  evidence.keepalive_armed = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::keepalive_timeout);
  evidence.keepalive_armed = false;
  evidence.user_timeout_armed = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::user_timeout);
  evidence.user_timeout_armed = false;
  EXPECT_EQ(classify_close(evidence), CloseCause::unknown);
}

TEST(ClassifyClose, ATimeoutWhileConnectingIsAConnectTimeout) {
  CloseEvidence evidence;
  evidence.error = code(std::errc::timed_out);
  evidence.connecting = true;
  EXPECT_EQ(classify_close(evidence), CloseCause::connect_timeout);
  TcpState syn_sent;
  syn_sent.state = TcpConnectionState::syn_sent;
  EXPECT_EQ(classify_close(timed_out(syn_sent)), CloseCause::connect_timeout);
}

TEST(ClassifyClose, UnknownErrorsStayUnknown) {
  EXPECT_EQ(classified(code(std::errc::invalid_argument)), CloseCause::unknown);
}

}  // namespace
}  // namespace tcpka
