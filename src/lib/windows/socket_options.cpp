// Windows: keepalive through one socket option per field where the system has them
// (Windows 10 1709 and later), and through WSAIoctl(SIO_KEEPALIVE_VALS) where it refuses
// them (older Windows, and Wine). The second path takes idle and interval in
// milliseconds, fixes the count (10 since Vista) and cannot be read back.
#include <winsock2.h>
#include <ws2tcpip.h>
// mstcpip.h needs winsock2.h first.
#include <mstcpip.h>

#include <algorithm>
#include <string>

#include "../platform.h"
#include "winsock_error.h"

namespace tcpka::detail {
namespace {

// ws2ipdef.h's names for the options of Windows 10 1709; mingw-w64 10 does not declare
// them. TCP_MAXRT (seconds) is older, and also missing there.
constexpr int kTcpKeepIdle = 3;  // TCP_KEEPIDLE, alias of TCP_KEEPALIVE
constexpr int kTcpMaxRt = 5;     // TCP_MAXRT
constexpr int kTcpKeepCnt = 16;  // TCP_KEEPCNT
constexpr int kTcpKeepIntvl = 17;

// The probes Windows sends when keepalive is set through SIO_KEEPALIVE_VALS: "On Windows
// Vista and later, the number of keep-alive probes (data retransmissions) is set to 10
// and cannot be changed" (SIO_KEEPALIVE_VALS control code).
constexpr int kFixedProbeCount = 10;

// SO_KEEPALIVE first, then the timings: the order Go's net package uses on Windows 10
// (on, then TCP_KEEPIDLE), which is what runs there in the wild; whether Windows re-arms
// a running keepalive timer on TCP_KEEPIDLE is not documented, and macOS does not. (Not
// run here: Wine refuses these options and takes the SIO_KEEPALIVE_VALS path.)
constexpr OptionDescriptor kWindowsOptions[] = {
    {PolicyField::keepalive, SOL_SOCKET, SO_KEEPALIVE, "SOL_SOCKET/SO_KEEPALIVE", OptionUnit::flag},
    {PolicyField::idle, IPPROTO_TCP, kTcpKeepIdle, "IPPROTO_TCP/TCP_KEEPIDLE", OptionUnit::seconds},
    {PolicyField::interval, IPPROTO_TCP, kTcpKeepIntvl, "IPPROTO_TCP/TCP_KEEPINTVL",
     OptionUnit::seconds},
    {PolicyField::count, IPPROTO_TCP, kTcpKeepCnt, "IPPROTO_TCP/TCP_KEEPCNT", OptionUnit::count},
    {PolicyField::user_timeout, IPPROTO_TCP, kTcpMaxRt, "IPPROTO_TCP/TCP_MAXRT",
     OptionUnit::seconds},
};

bool is_keepalive_timing(const OptionDescriptor& option) {
  return option.field == PolicyField::idle || option.field == PolicyField::interval ||
         option.field == PolicyField::count;
}

// What a refused option says: the system does not have it. (Winsock answers
// WSAENOPROTOOPT; some versions WSAEINVAL for a level they know and a name they do not.)
bool refused(int code) {
  return code == WSAENOPROTOOPT || code == WSAEINVAL;
}

struct Failure {
  const OptionDescriptor* option = nullptr;  // null: every option was set
  int value = 0;
  int code = 0;  // WSAGetLastError()
};

Failure set_options(SOCKET socket, const Policy& policy, bool skip_keepalive_timings) {
  for (const OptionDescriptor& option : kWindowsOptions) {
    if (skip_keepalive_timings && is_keepalive_timing(option)) continue;
    const std::optional<int> value = requested_value(policy, option);
    if (!value) continue;
    // Windows takes a DWORD for the TCP options and a BOOL (also 4 bytes) for SO_KEEPALIVE.
    const DWORD data = static_cast<DWORD>(*value);
    if (::setsockopt(socket, option.level, option.name, reinterpret_cast<const char*>(&data),
                     sizeof(data)) != 0) {
      return {&option, *value, ::WSAGetLastError()};
    }
  }
  return {};
}

Error set_failed(SOCKET socket, const Failure& failure) {
  return winsock_error(failure.code, "setsockopt(" + std::string(failure.option->readable) + ", " +
                                         std::to_string(failure.value) + ") on " +
                                         socket_text(socket));
}

// SIO_KEEPALIVE_VALS sets on/off, idle and interval together: a field the policy leaves
// empty gets the system's default, since the socket's current value cannot be read.
Result<Applied> apply_keepalive_vals(SOCKET socket, const Policy& policy,
                                     const ApplyOptions& options) {
  auto system = read_system_defaults();
  if (!system) return system.error();
  Applied applied{KeepaliveMechanism::keepalive_vals, std::nullopt, std::nullopt};
  Millis interval = policy.interval.value_or(system->keepalive_interval);
  if (policy.count && *policy.count != kFixedProbeCount) {
    applied.fixed_count = kFixedProbeCount;
    if (options.fixed_count == FixedCount::keep_total) {
      interval = std::max(Millis(1), interval * *policy.count / kFixedProbeCount);
      applied.adapted_interval = interval;
    }
  }
  tcp_keepalive values{};
  values.onoff = policy.keepalive.value_or(true) ? 1 : 0;
  values.keepalivetime = static_cast<ULONG>(policy.idle.value_or(system->keepalive_time).count());
  values.keepaliveinterval = static_cast<ULONG>(interval.count());
  DWORD returned = 0;
  if (::WSAIoctl(socket, SIO_KEEPALIVE_VALS, &values, sizeof(values), nullptr, 0, &returned,
                 nullptr, nullptr) != 0) {
    return winsock_error(::WSAGetLastError(), "WSAIoctl(SIO_KEEPALIVE_VALS, " +
                                                  std::to_string(values.onoff) + ", " +
                                                  std::to_string(values.keepalivetime) + " ms, " +
                                                  std::to_string(values.keepaliveinterval) +
                                                  " ms) on " + socket_text(socket));
  }
  return applied;
}

// Reads one integer option; `code` is 0 on success.
struct OptionValue {
  int value = 0;
  int code = 0;
};

OptionValue get_option(SOCKET socket, const OptionDescriptor& option) {
  // Zeroed, because Windows writes a BOOL option as a single byte.
  DWORD data = 0;
  int length = sizeof(data);
  if (::getsockopt(socket, option.level, option.name, reinterpret_cast<char*>(&data), &length) !=
      0) {
    return {0, ::WSAGetLastError()};
  }
  return {static_cast<int>(data), 0};
}

void note_unreadable(PolicyReading& reading, const std::string& what) {
  if (!reading.unreadable.empty()) reading.unreadable += "; ";
  reading.unreadable += what;
}

std::string family_name(int family) {
  return family == AF_UNIX ? "a UNIX-domain socket"
                           : "a socket of address family " + std::to_string(family);
}

}  // namespace

Result<void> check_tcp_socket(NativeSocket socket) {
  WSAPROTOCOL_INFOW info{};
  int length = sizeof(info);
  if (::getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info),
                   &length) != 0) {
    const int code = ::WSAGetLastError();
    if (code == WSAENOTSOCK) {
      return winsock_error(code, socket_text(socket) + " is not a socket");
    }
    return winsock_error(code,
                         "getsockopt(SOL_SOCKET/SO_PROTOCOL_INFOW) on " + socket_text(socket));
  }
  std::string what;
  if (info.iAddressFamily != AF_INET && info.iAddressFamily != AF_INET6) {
    what = family_name(info.iAddressFamily);
  } else if (info.iSocketType != SOCK_STREAM || info.iProtocol != IPPROTO_TCP) {
    what = info.iSocketType == SOCK_DGRAM
               ? "a UDP socket"
               : "an IP socket of type " + std::to_string(info.iSocketType) + ", protocol " +
                     std::to_string(info.iProtocol);
  }
  if (what.empty()) return {};
  return winsock_error(WSAEPROTOTYPE, socket_text(socket) + " is " + what +
                                          "; keepalive and TCP_MAXRT apply only to TCP");
}

Result<Applied> apply_to_socket(NativeSocket socket, const Policy& policy,
                                const ApplyOptions& options) {
  const Failure failure = set_options(socket, policy, /*skip_keepalive_timings=*/false);
  if (failure.option == nullptr) return Applied{};
  if (!is_keepalive_timing(*failure.option) || !refused(failure.code)) {
    return set_failed(socket, failure);
  }
  // This Windows has no per-field keepalive options: the timings go through the ioctl,
  // the rest (the user timeout, keepalive off) through the options it does have.
  Policy rest = policy;
  rest.keepalive.reset();
  if (const Failure other = set_options(socket, rest, /*skip_keepalive_timings=*/true);
      other.option != nullptr) {
    return set_failed(socket, other);
  }
  return apply_keepalive_vals(socket, policy, options);
}

Result<PolicyReading> read_from_socket(NativeSocket socket) {
  PolicyReading reading;
  bool timings_refused = false;
  for (const OptionDescriptor& option : kWindowsOptions) {
    if (is_keepalive_timing(option) && timings_refused) continue;
    const OptionValue got = get_option(socket, option);
    if (got.code == 0) {
      // TCP_MAXRT reads -1 when retransmissions never give up: not a duration.
      if (option.field == PolicyField::user_timeout && got.value < 0) {
        note_unreadable(reading, "TCP_MAXRT is -1: retransmissions never give up");
        continue;
      }
      store_value(reading, option, got.value);
      continue;
    }
    if (!refused(got.code)) {
      return winsock_error(
          got.code, "getsockopt(" + std::string(option.readable) + ") on " + socket_text(socket));
    }
    if (is_keepalive_timing(option)) {
      timings_refused = true;
      note_unreadable(reading,
                      "idle, intvl and cnt: this system refuses TCP_KEEPIDLE, TCP_KEEPINTVL and "
                      "TCP_KEEPCNT, and SIO_KEEPALIVE_VALS cannot be read back (its count is "
                      "the system's, 10 since Vista)");
    } else {
      note_unreadable(reading, std::string(option.readable) + " is refused by this system");
    }
  }
  return reading;
}

std::span<const OptionDescriptor> platform_option_table() {
  return kWindowsOptions;
}

}  // namespace tcpka::detail
