// Linux: the TCP sysctls of the calling thread's network namespace.
//
// /proc/sys/net is resolved against the network namespace of the thread that opens the
// file (unlike /proc/net, which follows the process's main thread), so a thread that
// entered a lab namespace with setns() reads that namespace's values.
#include "tcpka/system_defaults.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace tcpka {
namespace {

constexpr const char* kSysctlDirectory = "/proc/sys/net/ipv4/";

// Reads one integer sysctl. Empty result with `missing` set when the file does not
// exist (the kernel predates the sysctl).
struct SysctlValue {
  long long value = 0;
  bool missing = false;
};

Result<SysctlValue> read_sysctl(const std::string& name) {
  const std::string path = kSysctlDirectory + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return SysctlValue{0, true};
    return errno_error(error,
                       "cannot open " + path + ": " + std::generic_category().message(error));
  }
  char buffer[64];
  const ssize_t length = ::read(fd, buffer, sizeof(buffer) - 1);
  const int error = errno;
  ::close(fd);
  if (length < 0) {
    return errno_error(error,
                       "cannot read " + path + ": " + std::generic_category().message(error));
  }
  long long value = 0;
  const char* end = buffer + length;
  const auto [stop, status] = std::from_chars(buffer, end, value);
  if (status != std::errc() || (stop != end && *stop != '\n')) {
    return errno_error(EINVAL, path + " does not hold an integer: '" +
                                   std::string(buffer, static_cast<std::size_t>(length)) + "'");
  }
  return SysctlValue{value, false};
}

}  // namespace

Result<SystemDefaults> read_system_defaults() {
  SystemDefaults defaults;
  // Each sysctl, where to store it and in what unit. Sysctls marked optional are absent
  // on older kernels; their field then keeps the kernel's built-in constant.
  struct Entry {
    const char* name;
    bool optional;
    void (*store)(SystemDefaults&, long long);
  };
  static constexpr Entry kEntries[] = {
      {"tcp_keepalive_time", false,
       [](SystemDefaults& d, long long v) { d.keepalive_time = Millis(v * 1'000); }},
      {"tcp_keepalive_intvl", false,
       [](SystemDefaults& d, long long v) { d.keepalive_interval = Millis(v * 1'000); }},
      {"tcp_keepalive_probes", false,
       [](SystemDefaults& d, long long v) { d.keepalive_probes = static_cast<int>(v); }},
      {"tcp_retries2", false,
       [](SystemDefaults& d, long long v) { d.retries2 = static_cast<int>(v); }},
      {"tcp_syn_retries", false,
       [](SystemDefaults& d, long long v) { d.syn_retries = static_cast<int>(v); }},
      {"tcp_syn_linear_timeouts", true,
       [](SystemDefaults& d, long long v) { d.syn_linear_timeouts = static_cast<int>(v); }},
      // Microseconds; rounded up so that a sub-millisecond minimum is not read as zero.
      {"tcp_rto_min_us", true,
       [](SystemDefaults& d, long long v) { d.rto_min = Millis((v + 999) / 1'000); }},
      {"tcp_rto_max_ms", true, [](SystemDefaults& d, long long v) { d.rto_max = Millis(v); }},
      // Tail-loss probes need tcp_early_retrans 3 or 4 and SACK: the second clears what the
      // first set.
      {"tcp_early_retrans", true,
       [](SystemDefaults& d, long long v) { d.tail_loss_probe = v == 3 || v == 4; }},
      {"tcp_sack", true,
       [](SystemDefaults& d, long long v) { d.tail_loss_probe = d.tail_loss_probe && v != 0; }},
  };
  for (const Entry& entry : kEntries) {
    auto value = read_sysctl(entry.name);
    if (!value) return value.error();
    if (value->missing) {
      if (!entry.optional) {
        return errno_error(ENOENT, std::string(kSysctlDirectory) + entry.name +
                                       " does not exist: is /proc mounted?");
      }
      defaults.not_present.emplace_back(entry.name);
      continue;
    }
    entry.store(defaults, value->value);
  }
  return defaults;
}

}  // namespace tcpka
