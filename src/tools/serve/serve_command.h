// `tcpka serve`: an echo server that detects dead peers and logs every close.
#pragma once

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_serve_command(CLI::App& tcpka);

}  // namespace tcpka::tools
