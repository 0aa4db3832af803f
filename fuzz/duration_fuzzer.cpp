// parse_duration on any text, with and without bare numbers: it never crashes, what it
// accepts lies within 0..~31.7 years, and format_duration's text (with a unit, so in
// either mode) and format_seconds's ("924.6s") read back as the same duration.
#include <cstddef>
#include <cstdint>
#include <string>

#include "property.h"
#include "tcpka/duration.h"

using tcpka::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcpka::fuzz::as_text(data, size);
  const std::string in_text = "input '" + std::string(text) + "'";
  auto bare = tcpka::parse_duration(text, tcpka::BareNumber::seconds);
  auto unit = tcpka::parse_duration(text, tcpka::BareNumber::rejected);
  if (unit) {
    require(bare.ok() && *bare == *unit, "what needs a unit also parses without that rule",
            in_text);
  }
  if (!bare) {
    tcpka::fuzz::require_one_line(bare.error().message, in_text);
    return 0;
  }
  const tcpka::Millis value = *bare;
  require(value.count() >= 0 && value.count() <= 1'000'000'000'000, "within 0..1e12 ms", in_text);
  const std::string formatted = tcpka::format_duration(value);
  for (const auto mode : {tcpka::BareNumber::seconds, tcpka::BareNumber::rejected}) {
    auto again = tcpka::parse_duration(formatted, mode);
    require(again.ok() && *again == value, "parse(format_duration(d)) == d",
            in_text + " -> '" + formatted + "'");
  }
  const std::string seconds = tcpka::format_seconds(value);
  auto from_seconds = tcpka::parse_duration(seconds);
  require(from_seconds.ok() && *from_seconds == value, "parse(format_seconds(d)) == d",
          in_text + " -> '" + seconds + "'");
  require(tcpka::format_seconds(-value) == (value.count() == 0 ? "" : "-") + seconds,
          "format_seconds(-d) is -format_seconds(d)", in_text);
  return 0;
}
