#include "tcpka/duration.h"

#include <cctype>
#include <cstdint>
#include <string>

namespace tcpka {
namespace {

constexpr std::int64_t kMaxMillis = 1'000'000'000'000;  // about 31.7 years

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Longest suffix first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

Error bad_duration(std::string_view text, std::string_view why) {
  return invalid_argument("'" + printable(text) + "' is not a duration: " + std::string(why));
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// One <digits>[.<digits>] prefix of `rest`, consumed. Empty digits mean "no number".
struct Number {
  std::string_view whole;
  std::string_view fraction;
};

Number take_number(std::string_view& rest) {
  Number number;
  std::size_t i = 0;
  while (i < rest.size() && is_digit(rest[i]))
    ++i;
  number.whole = rest.substr(0, i);
  if (i < rest.size() && rest[i] == '.') {
    const std::size_t start = ++i;
    while (i < rest.size() && is_digit(rest[i]))
      ++i;
    number.fraction = rest.substr(start, i - start);
  }
  rest.remove_prefix(i);
  return number;
}

const Unit* take_unit(std::string_view& rest) {
  for (const Unit& unit : kUnits) {
    if (rest.substr(0, unit.suffix.size()) == unit.suffix) {
      rest.remove_prefix(unit.suffix.size());
      return &unit;
    }
  }
  return nullptr;
}

// number * unit in milliseconds, or -1 when it is not a whole millisecond or too large.
std::int64_t to_millis(const Number& number, std::int64_t unit_millis) {
  std::int64_t total = 0;
  for (char c : number.whole) {
    total = total * 10 + (c - '0');
    if (total > kMaxMillis) return -1;
  }
  total *= unit_millis;
  if (total > kMaxMillis) return -1;
  // The fraction contributes fraction_digits * unit / 10^k, which must be exact. Trailing
  // zeros change nothing; beyond nine significant digits no unit (at most 3.6e6 ms) can
  // make a whole millisecond, and the products below would overflow.
  std::string_view fraction = number.fraction;
  while (!fraction.empty() && fraction.back() == '0')
    fraction.remove_suffix(1);
  if (fraction.size() > 9) return -1;
  std::int64_t numerator = 0;
  std::int64_t denominator = 1;
  for (char c : fraction) {
    numerator = numerator * 10 + (c - '0');
    denominator *= 10;
  }
  if ((numerator * unit_millis) % denominator != 0) return -1;
  return total + numerator * unit_millis / denominator;
}

}  // namespace

Result<Millis> parse_duration(std::string_view text, BareNumber bare) {
  if (text.empty()) return bad_duration(text, "it is empty");
  if (text.front() == '-') return bad_duration(text, "it is negative");

  std::string_view rest = text;
  std::int64_t total = 0;
  while (!rest.empty()) {
    const Number number = take_number(rest);
    if (number.whole.empty() && number.fraction.empty()) {
      return bad_duration(text, "expected a number such as 10s, 1.5s, 250ms, 5m or 2h");
    }
    const Unit* unit = take_unit(rest);
    std::int64_t unit_millis = 0;
    if (unit != nullptr) {
      unit_millis = unit->millis;
    } else if (!rest.empty()) {
      return bad_duration(text, "unknown unit '" + printable(rest) + "' (use ms, s, m or h)");
    } else if (bare == BareNumber::rejected || total != 0) {
      return bad_duration(text, "give a unit (ms, s, m or h)");
    } else {
      unit_millis = 1'000;
    }
    const std::int64_t part = to_millis(number, unit_millis);
    if (part < 0) {
      return bad_duration(text, "it is too large or finer than a millisecond");
    }
    total += part;
    if (total > kMaxMillis) return bad_duration(text, "it is too large");
  }
  return Millis(total);
}

std::string format_duration(Millis duration) {
  const std::int64_t ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_seconds(Millis duration) {
  const std::int64_t ms = duration.count();
  const char* sign = ms < 0 ? "-" : "";
  const std::int64_t magnitude = ms < 0 ? -ms : ms;
  std::string text = sign + std::to_string(magnitude / 1'000);
  std::int64_t fraction = magnitude % 1'000;
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 3 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    text += "." + digits;
  }
  return text + "s";
}

}  // namespace tcpka
