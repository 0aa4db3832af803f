// How every tcpka subcommand ends (DESIGN.md, "Errors").
#pragma once

namespace tcpka::tools {

enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,        // a measurement or comparison did not hold
  kExitBadInput = 2,           // bad usage or input: one line on stderr says which
  kExitMissingCapability = 3,  // the environment lacks something: one line says what
};

}  // namespace tcpka::tools
