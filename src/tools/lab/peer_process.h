// The client's program in the client host: a real process, so that it can be killed
// (SIGKILL: process exit) or frozen (SIGSTOP: hung) like any program. It connects to the
// server, sends what it is given (the lab's own server gets one byte; a black box what
// the user said, or nothing), and then sits, reading nothing; or, facing a server with
// heartbeats, reads and answers each ping with a pong (docs/heartbeats.md).
//
// It dies with the thread that started it (PR_SET_PDEATHSIG), so that a lab killed
// mid-run leaves no process behind, and with it the namespace it was holding.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "net/endpoint.h"
#include "net/net_namespace.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::tools::lab {

// The name the peer shows in ps(1); tests look for leftovers by it.
inline constexpr const char* kPeerProcessName = "tcpka-lab-peer";

class PeerProcess {
 public:
  static Result<PeerProcess> start(const net::NetNamespace& ns, const net::SocketAddress& server,
                                   std::string_view first_bytes, bool answer_pings = false,
                                   Millis pong_delay = Millis(0));
  PeerProcess(PeerProcess&& other) noexcept;
  PeerProcess& operator=(PeerProcess&&) = delete;
  ~PeerProcess();  // kills and reaps it

  pid_t pid() const { return pid_; }
  Result<void> signal(int signal_number) const;

 private:
  explicit PeerProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

}  // namespace tcpka::tools::lab
