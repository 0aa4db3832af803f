#include "winsock_error.h"

#include <system_error>

namespace tcpka::detail {

std::string socket_text(NativeSocket socket) {
  return "socket " + std::to_string(socket);
}

Error winsock_error(int code, const std::string& what) {
  const std::error_code error(code, std::system_category());
  std::string words = error.message();
  // FormatMessage ends its text with ".\r\n"; an Error is one line without a period.
  while (!words.empty() && (words.back() == '\n' || words.back() == '\r' || words.back() == '.' ||
                            words.back() == ' ')) {
    words.pop_back();
  }
  if (words.empty()) words = "error";
  return Error{error, what + ": " + words + " (" + std::to_string(code) + ")"};
}

}  // namespace tcpka::detail
