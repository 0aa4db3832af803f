// The names tcpka prints and parses: logs and JSON depend on them staying put.
#include <gtest/gtest.h>

#include <cerrno>

#include "platform.h"
#include "tcpka/close_cause.h"
#include "tcpka/detection_model.h"
#include "tcpka/errno_name.h"
#include "tcpka/tcp_state.h"

namespace tcpka {
namespace {

TEST(CloseCauseNames, RoundTrip) {
  for (int i = 0; i <= static_cast<int>(CloseCause::unknown); ++i) {
    const auto cause = static_cast<CloseCause>(i);
    EXPECT_EQ(close_cause_from_string(to_string(cause)), cause) << to_string(cause);
  }
  EXPECT_EQ(to_string(CloseCause::keepalive_timeout), "keepalive_timeout");
  EXPECT_FALSE(close_cause_from_string("nope").has_value());
}

TEST(ErrnoName, NamesTheErrorsAConnectionEndsWith) {
  EXPECT_EQ(errno_name(std::make_error_code(std::errc::timed_out)), "ETIMEDOUT");
  EXPECT_EQ(errno_name(detail::os_error(std::errc::host_unreachable)), "EHOSTUNREACH");
  EXPECT_EQ(errno_name(std::error_code()), "EOF");
  EXPECT_EQ(errno_name(std::error_code(4242, std::generic_category())), "errno 4242");
}

TEST(ScenarioNames, AreStable) {
  EXPECT_EQ(to_string(PeerFailure::host_silent), "host_silent");
  EXPECT_EQ(to_string(Activity::window_closed), "window_closed");
  EXPECT_EQ(describe(PeerFailure::process_hung), "process hung");
}

TEST(TcpStateNames, AreTheKernels) {
  EXPECT_EQ(to_string(TcpConnectionState::established), "ESTABLISHED");
  EXPECT_EQ(to_string(TcpConnectionState::closing), "CLOSING");
  EXPECT_EQ(to_string(static_cast<TcpConnectionState>(42)), "UNKNOWN");
}

}  // namespace
}  // namespace tcpka
