// `tcpka watch`: every TCP connection of the host that ends, with its cause.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_watch_command(CLI::App& tcpka);

}  // namespace tcpka::tools
