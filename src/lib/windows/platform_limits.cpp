#include "tcpka/policy.h"

namespace tcpka {

const PolicyLimits& platform_limits() {
  return kWindowsLimits;
}

}  // namespace tcpka
