// The shim's configuration from an environment made by hand.
#include "preload/shim_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tcpka::preload {
namespace {

Result<ShimConfig> load(const std::map<std::string, std::string>& variables) {
  return load_shim_config([&](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

TEST(ShimConfig, NothingSetMeansKeepaliveOnAsLibkeepaliveDoes) {
  auto config = load({});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(to_string(config->policy), "on");
  EXPECT_EQ(config->scope, Scope::every_socket);
  EXPECT_TRUE(config->covers_port(12345));
  EXPECT_FALSE(config->override_program);
}

TEST(ShimConfig, TcpkaFieldsWinOverLibkeepalives) {
  auto config = load({{"KEEPIDLE", "11"}, {"KEEPCNT", "2"}, {"TCPKA_POLICY", "idle=7s"}});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->policy.idle, Millis(7'000));
  EXPECT_EQ(config->policy.count, 2);
  auto off = load({{"KEEPALIVE", "off"}});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->policy.keepalive, false);
}

TEST(ShimConfig, AutomaticUserTimeoutIsComputedAtLoad) {
  auto config = load({{"TCPKA_POLICY", "idle=7s,intvl=3s,cnt=4"}, {"TCPKA_USER_TIMEOUT", "auto"}});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->policy.user_timeout, UserTimeout::fixed(Millis(19'000)));
}

TEST(ShimConfig, ScopesPortsAndFlags) {
  auto config = load({{"TCPKA_SCOPE", "listen"},
                      {"TCPKA_PORTS", "80,8000-8002"},
                      {"TCPKA_OVERRIDE", "1"},
                      {"TCPKA_DEBUG", "1"},
                      {"TCPKA_LOG", "/tmp/shim.log"}});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->scope, Scope::listening);
  EXPECT_TRUE(config->covers_port(80));
  EXPECT_TRUE(config->covers_port(8001));
  EXPECT_FALSE(config->covers_port(8003));
  EXPECT_TRUE(config->override_program);
  EXPECT_TRUE(config->debug);
  EXPECT_EQ(config->log_path, "/tmp/shim.log");
}

TEST(ShimConfig, MalformedVariablesSayWhich) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"TCPKA_POLICY", "idle=forever"}}, "TCPKA_POLICY: "},
      {{{"TCPKA_USER_TIMEOUT", "30000"}}, "TCPKA_USER_TIMEOUT: "},
      {{{"TCPKA_SCOPE", "sometimes"}}, "TCPKA_SCOPE: 'sometimes' is not all, listen or connect"},
      {{{"TCPKA_PORTS", "80,http"}}, "TCPKA_PORTS: 'http' is not a port"},
      {{{"TCPKA_PORTS", "9-1"}}, "TCPKA_PORTS: '9-1' is not a port"},
      {{{"TCPKA_PORTS", "70000"}}, "TCPKA_PORTS: '70000' is not a port"},
      {{{"TCPKA_PORTS", "80,"}}, "TCPKA_PORTS: '' is not a port"},
      {{{"TCPKA_PORTS", ",80"}}, "TCPKA_PORTS: '' is not a port"},
      {{{"KEEPIDLE", "soon"}}, "libkeepalive variables: KEEPIDLE: "},
      {{{"KEEPCNT", "2 probes"}}, "libkeepalive variables: KEEPCNT: '2 probes' is not a whole"},
  };
  for (const auto& [variables, message] : cases) {
    auto config = load(variables);
    ASSERT_FALSE(config.ok()) << message;
    EXPECT_EQ(config.error().message.rfind(message, 0), 0u) << config.error().message;
  }
}

// Each variable is its one field: a value once pasted into a policy's text could carry
// other fields along (KEEPIDLE=5,ut=1s set a user timeout; TCPKA_USER_TIMEOUT=30s,off
// dropped its "off" without a word).
TEST(ShimConfig, AVariableHoldsItsOwnFieldAndNothingElse) {
  for (const auto& variables : std::vector<std::map<std::string, std::string>>{
           {{"KEEPIDLE", "5,ut=1s"}},
           {{"KEEPINTVL", "5,cnt=3"}},
           {{"KEEPCNT", "3,off"}},
           {{"TCPKA_USER_TIMEOUT", "30s,off"}},
           {{"TCPKA_USER_TIMEOUT", "auto,idle=5s"}},
       }) {
    auto config = load(variables);
    EXPECT_FALSE(config.ok()) << variables.begin()->first << "=" << variables.begin()->second
                              << " gave " << to_string(config->policy);
  }
  auto config = load({{"KEEPIDLE", "5"}, {"KEEPINTVL", "2s"}, {"KEEPCNT", "3"}});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(to_string(config->policy), "idle=5s,intvl=2s,cnt=3");
}

TEST(ShimConfig, ARefusalIsOneLineWhateverTheVariableHolds) {
  auto config = load({{"TCPKA_SCOPE", "listen\nconnect"}});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message,
            "TCPKA_SCOPE: 'listen\\nconnect' is not all, listen or connect");
}

}  // namespace
}  // namespace tcpka::preload
