// What `tcpka exec` needs to know of the program before it runs it: where it is (as
// execvp would find it) and whether LD_PRELOAD can reach it. A statically linked ELF has
// no program interpreter (PT_INTERP): no dynamic loader runs, so nothing is preloaded
// (a Go binary built with CGO_ENABLED=0, a musl static build).
#pragma once

#include <string>

#include "tcpka/result.h"

namespace tcpka::tools {

// `name` searched in PATH as execvp does (a name with a slash is taken as it is).
// ENOENT when no executable file is found.
Result<std::string> find_program(const std::string& name);

// Whether `path` is an ELF executable without a program interpreter. A script or any
// other file is not (its interpreter is what runs, and is usually dynamic).
bool is_statically_linked(const std::string& path);

}  // namespace tcpka::tools
