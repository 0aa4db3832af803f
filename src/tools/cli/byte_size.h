// Byte counts as people write them: "65536", "64KiB", "64k", "1MiB", "2G" (binary units).
#pragma once

#include <cstdint>
#include <string_view>

#include "tcpka/result.h"

namespace tcpka::tools {

Result<std::uint64_t> parse_byte_size(std::string_view text);

}  // namespace tcpka::tools
