// read_system_defaults() reads the calling thread's network namespace.
#include <gtest/gtest.h>

#include "support/private_netns.h"
#include "support/privileges.h"
#include "tcpka/system_defaults.h"

namespace tcpka {
namespace {

using namespace testing;

TEST(NamespaceDefaults, AreReadFromTheCallingThreadsNamespace) {
  TCPKA_REQUIRE_NETWORK_NAMESPACES();
  const SystemDefaults host = *read_system_defaults();
  SystemDefaults inside;
  in_private_netns([&] {
    write_net_sysctl("ipv4/tcp_keepalive_time", "1234");
    write_net_sysctl("ipv4/tcp_keepalive_intvl", "7");
    write_net_sysctl("ipv4/tcp_keepalive_probes", "4");
    write_net_sysctl("ipv4/tcp_retries2", "5");
    write_net_sysctl("ipv4/tcp_syn_retries", "2");
    inside = *read_system_defaults();
  });
  EXPECT_EQ(inside.keepalive_time, Millis(1'234'000));
  EXPECT_EQ(inside.keepalive_interval, Millis(7'000));
  EXPECT_EQ(inside.keepalive_probes, 4);
  EXPECT_EQ(inside.retries2, 5);
  EXPECT_EQ(inside.syn_retries, 2);
  // The host's namespace is untouched.
  EXPECT_EQ(*read_system_defaults(), host);
}

TEST(NamespaceDefaults, TheSysctlWriterRefusesTheHostsNamespace) {
  EXPECT_THROW(write_net_sysctl("ipv4/tcp_retries2", "15"), std::logic_error);
}

}  // namespace
}  // namespace tcpka
