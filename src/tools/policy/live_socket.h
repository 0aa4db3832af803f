// The part of `tcpka policy --fd-of HOST:PORT` that needs the platform's sockets: connect
// with the policy applied, then read back what is in force. One file per platform
// (posix/, windows/); the build picks it.
#pragma once

#include <string>
#include <variant>

#include "cli/exit_codes.h"
#include "policy/policy_report.h"
#include "tcpka/socket_options.h"

namespace tcpka::tools {

struct LiveProbeFailure {
  std::string message;
  ExitCode code;
};

std::variant<LiveSocket, LiveProbeFailure> probe_live_socket(const std::string& endpoint_text,
                                                             const Policy& policy,
                                                             const ResolvedPolicy& expected,
                                                             const ApplyOptions& options);

}  // namespace tcpka::tools
