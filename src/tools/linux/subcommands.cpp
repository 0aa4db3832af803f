#include "subcommands.h"

#include "connect/connect_command.h"
#include "enforce/enforce_command.h"
#include "exec/exec_command.h"
#include "inspect/inspect_command.h"
#include "lab/lab_command.h"
#include "policy/policy_command.h"
#include "serve/serve_command.h"
#include "watch/watch_command.h"

namespace tcpka::tools {

std::vector<Subcommand> add_subcommands(CLI::App& tcpka) {
  return {add_policy_command(tcpka), add_serve_command(tcpka),  add_connect_command(tcpka),
          add_lab_command(tcpka),    add_exec_command(tcpka),   add_inspect_command(tcpka),
          add_watch_command(tcpka),  add_enforce_command(tcpka)};
}

}  // namespace tcpka::tools
