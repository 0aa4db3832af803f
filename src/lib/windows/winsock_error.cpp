#include "winsock_error.h"

#include <windows.h>

#include <system_error>

namespace tcpka::detail {
namespace {

// The system's own words for a Winsock code. (mingw-w64's std::system_category() has
// none for most of them: it says "Unknown error code".)
std::string system_words(int code) {
  char buffer[256];
  const DWORD length =
      ::FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                       static_cast<DWORD>(code), 0, buffer, sizeof(buffer), nullptr);
  std::string words(buffer, length);
  // FormatMessage ends its text with ".\r\n"; an Error is one line without a period.
  while (!words.empty() && (words.back() == '\n' || words.back() == '\r' || words.back() == '.' ||
                            words.back() == ' ')) {
    words.pop_back();
  }
  return words.empty() ? "error" : words;
}

}  // namespace

std::string socket_text(NativeSocket socket) {
  return "socket " + std::to_string(socket);
}

Error winsock_error(int code, const std::string& what) {
  return Error{std::error_code(code, std::system_category()),
               what + ": " + system_words(code) + " (" + std::to_string(code) + ")"};
}

}  // namespace tcpka::detail
