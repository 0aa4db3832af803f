// Running a parameterized test once over IPv4 and once over IPv6.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

namespace tcpka::testing {

inline auto both_ip_versions() {
  return ::testing::Values(AF_INET, AF_INET6);
}

inline std::string ip_version_name(const ::testing::TestParamInfo<int>& info) {
  return info.param == AF_INET ? "IPv4" : "IPv6";
}

}  // namespace tcpka::testing
