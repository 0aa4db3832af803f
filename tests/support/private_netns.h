// Private network namespaces for tests that change per-namespace state.
//
// The namespace belongs to one thread and has no name in /run/netns: it disappears when
// that thread ends, however the test ends.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tcpka::testing {

// Whether this process may create network namespaces (root, or CAP_SYS_ADMIN).
bool can_create_network_namespaces();

// Runs `body` on a new thread inside a new network namespace whose loopback is up, and
// waits for it. An exception thrown by `body` is rethrown here.
void in_private_netns(const std::function<void()>& body);

// Writes `value` to /proc/sys/net/<name> ("ipv4/tcp_retries2") of the calling thread's
// network namespace. Throws, writing nothing, when that namespace is the one the test
// process started in: tests never touch the host's sysctls.
void write_net_sysctl(std::string_view name, std::string_view value);

}  // namespace tcpka::testing
