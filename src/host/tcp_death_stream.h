// The BPF program of src/bpf/tcp_deaths.bpf.c, loaded and attached: every TCP
// connection of the host that ends, in every network namespace, as it ends (Linux 5.8+
// with BTF; loading needs CAP_BPF and CAP_PERFMON, or root). Its events arrive through
// a ring buffer whose descriptor an event loop waits on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "host/tcp_death.h"
#include "tcpka/result.h"

struct tcp_deaths;   // the skeleton (bpf_gen skeleton)
struct ring_buffer;  // libbpf's

namespace tcpka::host {

class TcpDeathStream {
 public:
  using Visitor = std::function<void(const TcpDeath&)>;

  // Fails naming what is missing: rights, BTF, or a kernel without the tracepoints.
  static Result<TcpDeathStream> open();

  TcpDeathStream(TcpDeathStream&&) noexcept;
  TcpDeathStream& operator=(TcpDeathStream&&) noexcept;
  ~TcpDeathStream();

  // Readable when deaths wait (an epoll descriptor: add it to a poller for EPOLLIN).
  int fd() const;

  // Hands every death waiting now to `visit`; returns how many there were.
  Result<int> drain(const Visitor& visit);

  // Deaths the ring buffer had no room for, since open(): counted by the BPF program.
  std::uint64_t lost() const;

  // Whether the kernel publishes its HZ (its config), without which `silent` is empty.
  bool knows_silence() const;

 private:
  struct State;
  explicit TcpDeathStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tcpka::host
