// What the kernel holds for one socket's keepalive and user timeout, and the ways to read
// it from outside the program that owns the socket (best first):
//  - a BPF iterator over the TCP sockets of a namespace (bpf_tcp_settings.h): every
//    socket at once, owned or not; it also tells which fields the socket left to the
//    namespace's sysctls;
//  - pidfd_getfd(): a duplicate of the owner's descriptor, then getsockopt (Linux 5.6+,
//    ptrace rights over the owner);
//  - neither: sock_diag shows only which timer runs, and the settings stay unknown.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "tcpka/duration.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka::host {

enum class SettingsSource { bpf_iterator, pidfd_getfd, none };
std::string_view to_string(SettingsSource source);  // "bpf", "pidfd", "none"

struct SocketSettings {
  ResolvedPolicy policy;  // user_timeout 0: none
  // The fields the socket left at 0, which the kernel resolves to its namespace's sysctl
  // (known only to the BPF iterator: getsockopt answers with the resolved value).
  std::optional<bool> idle_from_sysctl;
  std::optional<bool> interval_from_sysctl;
  std::optional<bool> count_from_sysctl;
};

// The settings of descriptor `fd` of process `pid`, through a duplicate of it.
Result<SocketSettings> read_settings_through_pidfd(pid_t pid, int fd);

}  // namespace tcpka::host
