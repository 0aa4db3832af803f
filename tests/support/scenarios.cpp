#include "support/scenarios.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

#include "tcpka/close_cause.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"

namespace tcpka::testing {
namespace {

// Every scenario here ends within seconds; a connection still open after this is a
// failed prediction, not a reason to hang.
constexpr Millis kLimit{30'000};

Policy parsed(const std::string& text) {
  auto policy = parse_policy(text);
  if (!policy) throw std::invalid_argument(policy.error().message);
  return *policy;
}

// The model's prediction for `fd`'s connection, with the RTO the kernel holds for it
// (loopback's round trip is below a millisecond).
Detection predicted(PeerFailure failure, Activity activity, const std::string& policy, int fd) {
  const SystemDefaults system = *read_system_defaults();
  const auto rto = std::chrono::duration_cast<Millis>(read_tcp_state(fd)->rto.value());
  return predict(failure, activity, *resolve(parsed(policy), system), system,
                 PathFacts{Millis(1), rto});
}

// Waits for `fd` to end and classifies the end from what the kernel left behind.
ScenarioRun finish(Detection prediction, int fd, Clock::time_point since,
                   const std::string& policy) {
  auto ending = wait_for_end(fd, since, kLimit);
  if (!ending) throw std::runtime_error("the connection outlived the scenario's limit");
  ScenarioRun run{std::move(prediction), *ending, *read_tcp_state(fd), CloseCause::unknown};
  const ResolvedPolicy armed = *resolve(parsed(policy), *read_system_defaults());
  CloseEvidence evidence;
  evidence.end_of_file = !ending->error;
  evidence.error = ending->error;
  evidence.keepalive_armed = armed.keepalive;
  evidence.user_timeout_armed = armed.user_timeout.count() > 0;
  evidence.last_state = run.post_mortem;
  run.classified = classify_close(evidence);
  return run;
}

// One byte from the client, read by the server: the last segment the server receives.
// The peer's last segment, sent once keepalive's idle clock will count from it exactly
// (past_the_first_keepalive_run: earlier, the first probe may come a jiffy before idle).
Clock::time_point exchange_last_segment(TcpPair& pair, const std::string& policy) {
  const SystemDefaults system = *read_system_defaults();
  std::this_thread::sleep_for(past_the_first_keepalive_run(resolve(parsed(policy), system)->idle));
  send_bytes(pair.client.get(), 1);
  receive_bytes(pair.server.get(), 1);
  return Clock::now();
}

void forget_silently(net::UniqueFd& fd) {
  const int on = 1;
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
    throw std::runtime_error("TCP_REPAIR needs CAP_NET_ADMIN");
  }
  fd.reset();
}

}  // namespace

ScenarioRun silent_idle_peer(int family, const std::string& policy) {
  TcpPair pair = connect_over_loopback(family, parsed(policy));
  const Clock::time_point last_segment = exchange_last_segment(pair, policy);
  silence(pair.client.get());
  Detection d = predicted(PeerFailure::host_silent, Activity::idle, policy, pair.server.get());
  return finish(std::move(d), pair.server.get(), last_segment, policy);
}

ScenarioRun silent_peer_with_unacked_data(int family, const std::string& policy) {
  TcpPair pair = connect_over_loopback(family, parsed(policy));
  silence(pair.client.get());
  Detection d = predicted(PeerFailure::host_silent, Activity::sending, policy, pair.server.get());
  const Clock::time_point sent = Clock::now();
  send_bytes(pair.server.get(), 100);
  return finish(std::move(d), pair.server.get(), sent, policy);
}

ScenarioRun shut_window(int family, const std::string& policy, bool hung) {
  TcpPair pair = connect_over_loopback(family, parsed(policy), ClientWindow::small);
  const Clock::time_point shut = fill_peer_window(pair.server.get(), Millis(10'000));
  if (!hung) silence(pair.client.get());
  const PeerFailure failure = hung ? PeerFailure::process_hung : PeerFailure::host_silent;
  Detection d = predicted(failure, Activity::window_closed, policy, pair.server.get());
  return finish(std::move(d), pair.server.get(), shut, policy);
}

ScenarioRun connect_to_silent_host(int family, const std::string& policy) {
  net::UniqueFd listener = listen_on_loopback(family);
  silence(listener.get());
  const SystemDefaults system = *read_system_defaults();
  Detection d = predict(PeerFailure::host_silent, Activity::connecting,
                        *resolve(parsed(policy), system), system);
  net::UniqueFd client(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (auto applied = apply_policy(client.get(), parsed(policy)); !applied) {
    throw std::runtime_error(applied.error().message);
  }
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("getsockname failed");
  }
  const Clock::time_point start = Clock::now();
  const int connected = ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length);
  const std::error_code error =
      connected == 0 ? std::error_code() : std::error_code(errno, std::generic_category());
  const auto after = std::chrono::duration_cast<Millis>(Clock::now() - start);
  if (connected == 0) throw std::runtime_error("connect() to a silent host succeeded");
  CloseEvidence evidence;
  evidence.error = error;
  evidence.connecting = true;
  return {std::move(d), Ending{after, error}, *read_tcp_state(client.get()),
          classify_close(evidence)};
}

ScenarioRun rebooted_idle_peer(int family, const std::string& policy) {
  TcpPair pair = connect_over_loopback(family, parsed(policy));
  const Clock::time_point last_segment = exchange_last_segment(pair, policy);
  forget_silently(pair.client);
  Detection d = predicted(PeerFailure::host_rebooted, Activity::idle, policy, pair.server.get());
  return finish(std::move(d), pair.server.get(), last_segment, policy);
}

ScenarioRun rebooted_peer_with_unacked_data(int family, const std::string& policy) {
  TcpPair pair = connect_over_loopback(family, parsed(policy));
  Detection d = predicted(PeerFailure::host_rebooted, Activity::sending, policy, pair.server.get());
  // The data leaves while the peer's host is down; it comes back without the
  // connection, so the first segment to reach it afterwards (the tail-loss probe) meets
  // a RST.
  silence(pair.client.get());
  const Clock::time_point sent = Clock::now();
  send_bytes(pair.server.get(), 100);
  forget_silently(pair.client);
  return finish(std::move(d), pair.server.get(), sent, policy);
}

}  // namespace tcpka::testing
