// `tcpka exec`: runs a program with libtcpka_preload.so, so that its TCP sockets get
// keepalive and a user timeout it never asked for.
#pragma once

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_exec_command(CLI::App& tcpka);

}  // namespace tcpka::tools
