// The lab's default matrix: every failure of UNP's table 7.3, and the ones a modern
// network adds (NAT timeouts, ICMP, partitions), each with the variants that show what
// keepalive and TCP_USER_TIMEOUT can and cannot do.
#pragma once

#include <vector>

#include "lab/scenario.h"

namespace tcpka::tools::lab {

// The lab's policy when the user gives none: probes after 2 s, every second, three of
// them: every keepalive detection lands within about 5 s.
inline constexpr const char* kDefaultLabPolicy = "idle=2s,intvl=1s,cnt=3";

// The scenarios of many connections: how they are sized.
struct CrowdSizes {
  double loss = 0.10;                  // lossy-path: the share lost each way (--loss)
  int lossy_connections = 500;         // per lossy-path row
  int mass_crash_connections = 1'000;  // in all, half per client host (--scale)
};

std::vector<ScenarioSpec> default_matrix(const Policy& policy, const CrowdSizes& sizes = {});

// The Windows scenario: the server's host crashes under a Windows client (`client`, run
// under Wine) that applied `policy` through libtcpka and waits in recv().
ScenarioSpec windows_scenario(const Policy& policy, const std::string& client);

}  // namespace tcpka::tools::lab
