// How GoogleTest prints tcpka's values in failure messages: as their text forms.
#pragma once

#include <ostream>

#include "tcpka/policy.h"

namespace tcpka {

inline void PrintTo(const Policy& policy, std::ostream* out) {
  *out << to_string(policy);
}
inline void PrintTo(const ResolvedPolicy& policy, std::ostream* out) {
  *out << to_string(policy);
}

}  // namespace tcpka
