// macOS: the limits policies are checked against (kDarwinLimits, in policy.cpp).
//
// Untested: no macOS machine builds it (see README's platform table).
#include "tcpka/policy.h"

namespace tcpka {

const PolicyLimits& platform_limits() {
  return kDarwinLimits;
}

}  // namespace tcpka
