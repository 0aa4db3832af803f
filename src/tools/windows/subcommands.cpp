#include "subcommands.h"

#include "policy/policy_command.h"

namespace tcpka::tools {

std::vector<Subcommand> add_subcommands(CLI::App& tcpka) {
  return {add_policy_command(tcpka)};
}

}  // namespace tcpka::tools
