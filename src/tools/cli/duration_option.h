// An option's duration value ("10s", "250ms"), with the option named in the error.
#pragma once

#include <string>
#include <string_view>

#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::tools {

inline Result<Millis> duration_option(std::string_view option, const std::string& text) {
  auto duration = parse_duration(text);
  if (!duration) return invalid_argument(std::string(option) + ": " + duration.error().message);
  return *duration;
}

}  // namespace tcpka::tools
