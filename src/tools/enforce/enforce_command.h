// `tcpka enforce`: keepalive and a user timeout on every TCP connection of a cgroup (eBPF).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_enforce_command(CLI::App& tcpka);

}  // namespace tcpka::tools
