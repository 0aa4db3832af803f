// Winsock's errors as tcpka Errors: WSAGetLastError() codes belong to the system
// category (FormatMessage knows them), not to errno's generic one.
#pragma once

#include <string>

#include "tcpka/native_socket.h"
#include "tcpka/result.h"

namespace tcpka::detail {

// "socket 412"
std::string socket_text(NativeSocket socket);

// `what` + ": " + the system's words for `code` + " (WSAE... number)".
Error winsock_error(int code, const std::string& what);

}  // namespace tcpka::detail
