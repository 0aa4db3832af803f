// The shape of a subcommand: it adds itself to the command line and, once the line is
// parsed, runs and returns an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tcpka::tools {

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

}  // namespace tcpka::tools
