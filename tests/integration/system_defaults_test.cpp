#include "tcpka/system_defaults.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace tcpka {
namespace {

long long sysctl(const std::string& name) {
  std::ifstream file("/proc/sys/net/ipv4/" + name);
  long long value = -1;
  file >> value;
  return value;
}

TEST(SystemDefaults, MatchTheHostsSysctls) {
  auto defaults = read_system_defaults();
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->keepalive_time.count(), sysctl("tcp_keepalive_time") * 1'000);
  EXPECT_EQ(defaults->keepalive_interval.count(), sysctl("tcp_keepalive_intvl") * 1'000);
  EXPECT_EQ(defaults->keepalive_probes, sysctl("tcp_keepalive_probes"));
  EXPECT_EQ(defaults->retries2, sysctl("tcp_retries2"));
  EXPECT_EQ(defaults->syn_retries, sysctl("tcp_syn_retries"));
}

TEST(SystemDefaults, OptionalSysctlsAreReadOrListedAsAbsent) {
  auto defaults = read_system_defaults();
  ASSERT_TRUE(defaults.ok());
  const auto absent = [&](const std::string& name) {
    for (const auto& missing : defaults->not_present) {
      if (missing == name) return true;
    }
    return false;
  };
  if (!absent("tcp_rto_min_us")) {
    EXPECT_EQ(defaults->rto_min.count(), (sysctl("tcp_rto_min_us") + 999) / 1'000);
  }
  if (!absent("tcp_rto_max_ms")) {
    EXPECT_EQ(defaults->rto_max.count(), sysctl("tcp_rto_max_ms"));
  }
  if (!absent("tcp_syn_linear_timeouts")) {
    EXPECT_EQ(defaults->syn_linear_timeouts, sysctl("tcp_syn_linear_timeouts"));
  }
  if (!absent("tcp_early_retrans")) {
    EXPECT_EQ(defaults->tail_loss_probe, sysctl("tcp_early_retrans") >= 3);
  }
}

}  // namespace
}  // namespace tcpka
