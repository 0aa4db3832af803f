// The subcommands this platform's tcpka has: all of them on Linux, `policy` on Windows
// (the others need Linux's namespaces, epoll and LD_PRELOAD). One file per platform.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

#include "cli/subcommand.h"

namespace tcpka::tools {

std::vector<Subcommand> add_subcommands(CLI::App& tcpka);

}  // namespace tcpka::tools
