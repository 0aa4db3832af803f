// errno values by name, for logs and JSON that other programs read.
#pragma once

#include <string>

namespace tcpka {

// "ETIMEDOUT" for ETIMEDOUT; "EOF" for 0 (how tcpka reports an orderly end); "errno N"
// for a value outside the set a TCP connection can end with.
std::string errno_name(int error);

}  // namespace tcpka
