// Rules about policies that more than one part of the library applies.
#pragma once

#include "tcpka/policy.h"

namespace tcpka::detail {

// ut=auto: the user timeout that ends an idle connection when keepalive would,
// idle + interval * count. Fails when that is above the platform's maximum.
Result<Millis> automatic_user_timeout(Millis idle, Millis interval, int count,
                                      const PolicyLimits& limits);

}  // namespace tcpka::detail
