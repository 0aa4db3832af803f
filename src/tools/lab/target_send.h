// Black-box mode: what the lab's client sends the user's server once connected, as the
// user wrote it on the command line (--target-send).
#pragma once

#include <string>
#include <string_view>

#include "tcpka/result.h"

namespace tcpka::tools::lab {

// "@FILE": the file's bytes. Otherwise the text with C's escapes for what a shell makes
// awkward: \r \n \t \0 \\ and \xHH ("GET / HTTP/1.1\r\nHost: lab\r\n\r\n"). An unknown
// escape or an unreadable file is an error that says which.
Result<std::string> parse_target_send(std::string_view text);

}  // namespace tcpka::tools::lab
