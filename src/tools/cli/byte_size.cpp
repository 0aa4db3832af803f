#include "cli/byte_size.h"

#include <charconv>
#include <string>

namespace tcpka::tools {

Result<std::uint64_t> parse_byte_size(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const auto bad = [&](const char* why) {
    return invalid_argument("'" + printable(text) + "' is not a size: " + why);
  };
  if (status != std::errc() || end == text.data()) return bad("expected a number such as 64KiB");
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB")
    scale = 1ull << 10;
  else if (unit == "m" || unit == "M" || unit == "MiB")
    scale = 1ull << 20;
  else if (unit == "g" || unit == "G" || unit == "GiB")
    scale = 1ull << 30;
  else
    return bad("unknown unit (use B, KiB, MiB or GiB)");
  if (number > (std::uint64_t{1} << 40) / scale) return bad("too large");
  return number * scale;
}

}  // namespace tcpka::tools
