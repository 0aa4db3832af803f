// A property a fuzz target checks on what the code under test returned: when it does not
// hold, the target aborts, which libFuzzer reports as a crash and keeps the input for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace tcpka::fuzz {

inline void require(bool holds, std::string_view property, std::string_view detail = {}) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %.*s\n  %.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// An Error's message is one line (tcpka/result.h), whatever the input it quotes.
inline void require_one_line(const std::string& message, std::string_view input) {
  require(!message.empty() && message.find_first_of("\n\r") == std::string::npos,
          "a refusal says why in one line", std::string(input) + " -> " + message);
}

// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Text that came through argv or the environment, which cannot hold a NUL byte: cut at
// the first one, as the C string the program receives would be.
inline std::string_view as_c_string(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  return text.substr(0, text.find('\0'));
}

}  // namespace tcpka::fuzz
