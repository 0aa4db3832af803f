// `tcpka lab`: every failure of UNP's table 7.3 reproduced on the real kernel, in
// private network namespaces, with the probes captured and the model's prediction next
// to each measurement.
#pragma once

#include "cli/subcommand.h"

namespace tcpka::tools {

Subcommand add_lab_command(CLI::App& tcpka);

}  // namespace tcpka::tools
