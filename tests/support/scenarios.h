// Dead-peer scenarios on loopback: each sets up a real connection, makes the peer fail
// in one way, measures when the application learns it, and predicts the same with the
// model. Tests assert on the results; bench/detection_times prints them.
//
// Each runs in the calling thread's network namespace: call it inside in_private_netns()
// for the ones that need lowered sysctls or CAP_NET_ADMIN.
#pragma once

#include <string>

#include "support/loopback.h"
#include "tcpka/detection_model.h"
#include "tcpka/tcp_state.h"

namespace tcpka::testing {

struct ScenarioRun {
  Detection predicted;
  Ending measured;
  TcpState post_mortem;  // the surviving side's socket after the end
  CloseCause classified = CloseCause::unknown;
};

// The peer's host goes silent right after the last exchange; this side is idle.
ScenarioRun silent_idle_peer(int family, const std::string& policy);

// The peer's host goes silent; this side then sends data that is never acknowledged.
ScenarioRun silent_peer_with_unacked_data(int family, const std::string& policy);

// The peer stops reading and this side fills its window; then the peer's host goes
// silent (`hung` false) or its process merely hangs and its kernel keeps answering.
ScenarioRun shut_window(int family, const std::string& policy, bool hung);

// connect() to a host that drops every SYN.
ScenarioRun connect_to_silent_host(int family, const std::string& policy);

// The peer's host reboots (its socket vanishes without FIN or RST: TCP_REPAIR, which
// needs CAP_NET_ADMIN) while this side is idle, or after sending unacknowledged data.
ScenarioRun rebooted_idle_peer(int family, const std::string& policy);
ScenarioRun rebooted_peer_with_unacked_data(int family, const std::string& policy);

}  // namespace tcpka::testing
