// `tcpka connect`: a client that holds or echo-tests many connections and reports when
// and why each one died.
#pragma once

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_connect_command(CLI::App& tcpka);

}  // namespace tcpka::tools
