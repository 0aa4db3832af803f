// Options that take a share or a probability: "--loss 1%", "--loss 2%,0.5%" (to the peer,
// back), "--false-kills 1e-6".
#pragma once

#include <string>
#include <string_view>

#include "tcpka/false_kills.h"
#include "tcpka/result.h"

namespace tcpka::tools {

// "1%", "0.5%" or a fraction "0.01"; from 0 up to, not including, 1 (100%).
Result<double> parse_share(std::string_view text);
// One share for both ways, or "TO,FROM".
Result<PathLoss> parse_path_loss(std::string_view text);
// A probability above 0 and below 1: "1e-6", "0.000001", "1/1000000" or "0.0001%".
Result<double> parse_probability(std::string_view text);

}  // namespace tcpka::tools
