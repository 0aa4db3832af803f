// Privileged tests skip where this process cannot make network namespaces, with the
// reason; but never when it runs as root. ctest counts a skip as a success, so a CI that
// lost its privileges (a container without CAP_SYS_ADMIN, a seccomp profile) would
// otherwise stay green with no kernel check at all: as root, a skip is a failure.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace tcpka::testing {

// Why this process cannot create network namespaces, or empty when it can.
std::optional<std::string> network_namespaces_unavailable();

// Whether a test may skip for want of privileges: not as root (euid 0).
bool may_skip_for_privileges();

}  // namespace tcpka::testing

// Skips the test where privileges are missing and this is not root; fails it as root.
// For a test body or a fixture's SetUp.
#define TCPKA_SKIP_UNLESS(condition_missing_reason)                                  \
  if (const std::optional<std::string> tcpka_missing = (condition_missing_reason)) { \
    if (!::tcpka::testing::may_skip_for_privileges())                                \
      GTEST_FAIL() << "running as root, yet " << *tcpka_missing                      \
                   << " (as root a privileged test never skips)";                    \
    GTEST_SKIP() << *tcpka_missing;                                                  \
  }

#define TCPKA_REQUIRE_NETWORK_NAMESPACES() \
  TCPKA_SKIP_UNLESS(::tcpka::testing::network_namespaces_unavailable())
