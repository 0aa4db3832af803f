// Socket options as data (the way Envoy describes them): each option a Policy touches is
// a descriptor naming its level, its name, how people write it, and the unit the kernel
// takes. Platforms list their descriptors in a table; apply and read walk the table.
#pragma once

#include <optional>
#include <string_view>

#include "tcpka/policy.h"
#include "tcpka/socket_options.h"

namespace tcpka::detail {

enum class PolicyField { keepalive, idle, interval, count, user_timeout };

// The unit of the integer the option takes.
enum class OptionUnit { flag, seconds, milliseconds, count };

struct OptionDescriptor {
  PolicyField field;
  int level;
  int name;
  std::string_view readable;  // "IPPROTO_TCP/TCP_KEEPCNT"
  OptionUnit unit;
};

// The integer to set for `option`, or empty when `policy` leaves that field alone.
// Precondition: the policy's user timeout is not automatic.
std::optional<int> requested_value(const Policy& policy, const OptionDescriptor& option);

// Stores `value`, read from a socket for `option`, in the field it belongs to.
void store_value(PolicyReading& settings, const OptionDescriptor& option, int value);

}  // namespace tcpka::detail
