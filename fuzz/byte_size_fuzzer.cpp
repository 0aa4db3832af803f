// parse_byte_size (--max-buffer, --size) on any option value: it never crashes or
// overflows, and what it accepts is at most 1 TiB and a whole multiple of its unit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/byte_size.h"
#include "property.h"

using tcpka::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcpka::fuzz::as_c_string(data, size);
  auto bytes = tcpka::tools::parse_byte_size(text);
  if (!bytes) {
    tcpka::fuzz::require_one_line(bytes.error().message, text);
    return 0;
  }
  require(*bytes <= (std::uint64_t{1} << 40), "at most 1 TiB", std::string(text));
  const std::size_t digits = text.find_first_not_of("0123456789");
  const std::string_view unit = digits == std::string_view::npos ? "" : text.substr(digits);
  const std::uint64_t scale = unit.empty() || unit == "B"        ? 1
                              : unit[0] == 'k' || unit[0] == 'K' ? 1U << 10
                              : unit[0] == 'm' || unit[0] == 'M' ? 1U << 20
                                                                 : 1U << 30;
  require(*bytes % scale == 0, "a whole number of its unit", std::string(text));
  return 0;
}
