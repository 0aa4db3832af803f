#include "net/endpoint.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace tcpka::net {
namespace {

TEST(ParseEndpoint, ReadsNamesAndAddresses) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:7001")->host, "127.0.0.1");
  EXPECT_EQ(parse_endpoint("127.0.0.1:7001")->port, 7001);
  EXPECT_EQ(parse_endpoint("[::1]:80")->host, "::1");
  EXPECT_EQ(parse_endpoint("localhost:65535")->port, 65535);
}

TEST(ParseEndpoint, RejectsWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "'127.0.0.1' is not HOST:PORT: missing :PORT"},
      {"127.0.0.1:0", "'127.0.0.1:0' is not HOST:PORT: the port must be a number from 1 to 65535"},
      {"host:65536", "'host:65536' is not HOST:PORT: the port must be a number from 1 to 65535"},
      {"host:http", "'host:http' is not HOST:PORT: the port must be a number from 1 to 65535"},
      {":80", "':80' is not HOST:PORT: the host is empty"},
      {"::1:80", "'::1:80' is not HOST:PORT: write an IPv6 address in brackets, as [::1]:7001"},
      {"[::1:80", "'[::1:80' is not HOST:PORT: missing ']'"},
      {"[::1]80", "'[::1]80' is not HOST:PORT: expected :PORT after ']'"},
      // Control characters are escaped: the message stays one line.
      {"host:8\r\n0",
       "'host:8\\r\\n0' is not HOST:PORT: the port must be a number from 1 to 65535"},
  };
  for (const auto& [text, message] : cases) {
    auto endpoint = parse_endpoint(text);
    ASSERT_FALSE(endpoint.ok()) << text;
    EXPECT_EQ(endpoint.error().message, message);
  }
}

TEST(Resolve, NumericAddressesNeedNoResolver) {
  auto v4 = resolve(*parse_endpoint("127.0.0.1:7001"));
  ASSERT_TRUE(v4.ok());
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ(v4->front().family(), AF_INET);
  EXPECT_EQ(to_string(v4->front()), "127.0.0.1:7001");
  auto v6 = resolve(*parse_endpoint("[::1]:7001"));
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(to_string(v6->front()), "[::1]:7001");
}

}  // namespace
}  // namespace tcpka::net
