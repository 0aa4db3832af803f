// `tcpka policy`: what a keepalive policy does on this host, failure by failure.
#pragma once

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_policy_command(CLI::App& tcpka);

}  // namespace tcpka::tools
