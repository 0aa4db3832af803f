// Policies that defeat themselves, found before they reach a socket.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tcpka/policy.h"
#include "tcpka/system_defaults.h"

namespace tcpka {

struct PolicyWarning {
  std::string_view id;  // stable, for machines: "no_user_timeout"
  std::string message;  // one line for people, with the numbers
};

// What `policy` (as asked, before the system's defaults fill it) fails to protect
// against on a host with `system`'s defaults.
std::vector<PolicyWarning> policy_warnings(const Policy& policy, const SystemDefaults& system);

// Longest idle time the common middleboxes keep a silent flow: Azure's load balancer
// drops it after 4 minutes (AWS's NLB after 350 s).
inline constexpr Millis kMiddleboxIdleTimeout{240'000};

}  // namespace tcpka
