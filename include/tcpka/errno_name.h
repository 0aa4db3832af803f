// errno values by name, for logs and JSON that other programs read.
#pragma once

#include <string>
#include <system_error>

namespace tcpka {

// "ETIMEDOUT" for timed_out, whatever the platform's own code for it; "EOF" for no
// error (how tcpka reports an orderly end); "errno N" outside the set a TCP connection
// can end with.
std::string errno_name(std::error_code error);

}  // namespace tcpka
