// `tcpka inspect`: every TCP connection of the host, in every network namespace, with
// the keepalive the kernel holds for it and what that means. It changes nothing.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_inspect_command(CLI::App& tcpka);

}  // namespace tcpka::tools
