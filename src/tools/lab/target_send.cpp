#include "lab/target_send.h"

#include <fmt/core.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <system_error>

namespace tcpka::tools::lab {
namespace {

// The largest file sent: a request, not a bulk transfer (the lab's window is small).
constexpr std::size_t kMaxFileBytes = std::size_t{64} * 1024;

Error bad(std::string message) {
  return errno_error(EINVAL, std::move(message));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return bad(fmt::format("cannot read {}: {}", path, std::generic_category().message(errno)));
  }
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() > kMaxFileBytes) {
    return bad(
        fmt::format("{} has {} bytes; at most {} are sent", path, bytes.size(), kMaxFileBytes));
  }
  return bytes;
}

}  // namespace

Result<std::string> parse_target_send(std::string_view text) {
  if (text.starts_with('@')) return read_file(std::string(text.substr(1)));
  std::string bytes;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      bytes += text[i];
      continue;
    }
    if (++i == text.size()) return bad("a lone \\ at the end (write \\\\ for a backslash)");
    switch (text[i]) {
      case 'r':
        bytes += '\r';
        break;
      case 'n':
        bytes += '\n';
        break;
      case 't':
        bytes += '\t';
        break;
      case '0':
        bytes += '\0';
        break;
      case '\\':
        bytes += '\\';
        break;
      case 'x': {
        const int high = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
        const int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
        if (high < 0 || low < 0) return bad("\\x takes two hex digits, as in \\x7f");
        bytes += static_cast<char>(high * 16 + low);
        i += 2;
        break;
      }
      default:
        return bad(fmt::format("unknown escape \\{} (known: \\r \\n \\t \\0 \\\\ \\xHH)", text[i]));
    }
  }
  return bytes;
}

}  // namespace tcpka::tools::lab
