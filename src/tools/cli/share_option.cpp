#include "cli/share_option.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>

namespace tcpka::tools {
namespace {

Result<double> number(std::string_view text, std::string_view what) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return invalid_argument(fmt::format("'{}' is not {}", text, what));
  }
  return value;
}

}  // namespace

Result<double> parse_share(std::string_view text) {
  const bool percent = text.ends_with('%');
  auto value =
      number(percent ? text.substr(0, text.size() - 1) : text, "a share (give 1%, 0.5% or 0.01)");
  if (!value) return value;
  const double share = percent ? *value / 100 : *value;
  if (share < 0 || share >= 1) {
    return invalid_argument(
        fmt::format("'{}': give a share from 0 up to (not including) 100%", text));
  }
  return share;
}

Result<PathLoss> parse_path_loss(std::string_view text) {
  const std::size_t comma = text.find(',');
  auto to_peer = parse_share(text.substr(0, comma));
  if (!to_peer) return to_peer.error();
  if (comma == std::string_view::npos) return PathLoss{*to_peer, *to_peer};
  auto from_peer = parse_share(text.substr(comma + 1));
  if (!from_peer) return from_peer.error();
  return PathLoss{*to_peer, *from_peer};
}

Result<double> parse_probability(std::string_view text) {
  double value = 0;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    auto over = number(text.substr(0, slash), "a probability");
    auto under = number(text.substr(slash + 1), "a probability");
    if (!over || !under || *under <= 0) {
      return invalid_argument(
          fmt::format("'{}' is not a probability (give 1e-6 or 1/1000000)", text));
    }
    value = *over / *under;
  } else if (text.ends_with('%')) {
    auto share = number(text.substr(0, text.size() - 1), "a probability (give 1e-6 or 0.0001%)");
    if (!share) return share;
    value = *share / 100;
  } else {
    auto plain = number(text, "a probability (give 1e-6 or 1/1000000)");
    if (!plain) return plain;
    value = *plain;
  }
  if (!(value > 0 && value < 1)) {
    return invalid_argument(fmt::format("'{}': give a probability above 0 and below 1", text));
  }
  return value;
}

}  // namespace tcpka::tools
