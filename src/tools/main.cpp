// tcpka: one program, one subcommand per job.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/subcommand.h"
#include "subcommands.h"
#include "tcpka/version.h"

int main(int argc, char** argv) {
  using namespace tcpka::tools;
  CLI::App app{"tcpka finds dead TCP peers, proves that it found them, and says how long it took"};
  app.name("tcpka");
  app.require_subcommand(1);
  app.set_version_flag("--version", "tcpka " TCPKA_VERSION);

  const std::vector<Subcommand> subcommands = add_subcommands(app);

  if (argc <= 1) {
    fmt::print(stderr, "{}", app.help());
    return kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& done) {  // --help, --version
    return app.exit(done);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "tcpka: {} (see tcpka --help)\n", error.what());
    return kExitBadInput;
  }
  for (const Subcommand& subcommand : subcommands) {
    if (subcommand.app->parsed()) return subcommand.run();
  }
  return kExitBadInput;
}
