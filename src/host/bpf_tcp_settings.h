// The BPF iterator of src/bpf/tcp_settings.bpf.c, loaded once and run per namespace:
// the keepalive and user-timeout fields of every full TCP socket, as the kernel holds
// them (Linux 5.9+ with BTF; loading needs CAP_BPF and CAP_PERFMON, or root).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "host/socket_settings.h"
#include "net/net_namespace.h"
#include "tcpka/result.h"

struct tcp_settings;  // the skeleton (bpftool gen skeleton)

namespace tcpka::host {

struct IteratedSocket {
  std::uint64_t cookie = 0;  // sock_diag's idiag_cookie; 0 if no dump has asked for it yet
  std::uint64_t inode = 0;   // 0 for a socket no file holds any more
  SocketSettings settings;
};

class TcpSettingsIterator {
 public:
  // Fails naming what is missing: rights, BTF, or a kernel without iter/tcp.
  static Result<TcpSettingsIterator> load();

  // Every full TCP socket of `ns` (the iterator walks the namespace of the thread that
  // opens it, so the calling thread enters `ns` for the time of the walk).
  Result<std::vector<IteratedSocket>> read(const net::NetNamespace& ns) const;

 private:
  struct Destroy {
    void operator()(::tcp_settings* skeleton) const;
  };
  explicit TcpSettingsIterator(std::unique_ptr<::tcp_settings, Destroy> skeleton)
      : skeleton_(std::move(skeleton)) {}
  std::unique_ptr<::tcp_settings, Destroy> skeleton_;
};

}  // namespace tcpka::host
