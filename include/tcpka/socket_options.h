// Applying a Policy to a socket and reading back what the kernel has in force.
#pragma once

#include <optional>
#include <string>

#include "tcpka/duration.h"
#include "tcpka/native_socket.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka {

// How a platform takes keepalive settings.
enum class KeepaliveMechanism {
  // One socket option per field (Linux, macOS, Windows 10 1709 and later): every field
  // is set as asked and reads back.
  socket_options,
  // Windows' WSAIoctl(SIO_KEEPALIVE_VALS) where the options are refused (older Windows,
  // and Wine): on/off, idle and interval in milliseconds. It takes no count (the system
  // fixes it: 10 since Vista) and nothing it sets can be read back.
  keepalive_vals,
};

// What to do with a policy's count where the platform fixes the count.
enum class FixedCount {
  keep_interval,  // set idle and interval as asked: detection takes idle + interval * fixed
  keep_total,     // scale the interval by count / fixed, so that idle + interval * count (the
                  // time to notice a silent peer) stays as asked, to the millisecond
};

struct ApplyOptions {
  FixedCount fixed_count = FixedCount::keep_interval;
};

// How apply_policy() carried a policy out.
struct Applied {
  KeepaliveMechanism mechanism = KeepaliveMechanism::socket_options;
  // The system's count, when it was used instead of the policy's.
  std::optional<int> fixed_count;
  // FixedCount::keep_total: the interval set instead of the policy's.
  std::optional<Millis> adapted_interval;
};

// Applies `policy` to a TCP socket of any state: not yet connected, listening (accepted
// sockets inherit it) or connected. Empty fields keep the socket's current value;
// ut=auto is computed from the idle, interval and count the socket will have.
//
// The policy is validated against the platform's limits before anything is set. Fails on
// anything that is not a TCP socket, naming what it is. When a setsockopt fails midway,
// the fields set before it stay set and the error names the option that failed.
Result<Applied> apply_policy(NativeSocket socket, const Policy& policy,
                             const ApplyOptions& options = {});

// What a socket has in force, field by field. A field the platform cannot read back is
// empty, and `unreadable` says which and why; nothing is guessed. On Linux and macOS every
// field reads back.
struct PolicyReading {
  std::optional<bool> keepalive;
  std::optional<Millis> idle;
  std::optional<Millis> interval;
  std::optional<int> count;
  std::optional<Millis> user_timeout;  // zero: off
  std::string unreadable;              // "" when every field was read

  bool complete() const { return keepalive && idle && interval && count && user_timeout; }
};

// Reads every field the platform can read back, including the system's defaults for the
// fields the socket never set.
Result<PolicyReading> read_back(NativeSocket socket);

// read_back() where it is complete; an error naming what cannot be read back otherwise.
Result<ResolvedPolicy> read_policy(NativeSocket socket);

}  // namespace tcpka
