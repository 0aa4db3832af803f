#include "watch/connection_survey.h"

#include <map>
#include <utility>

#include "host/tcp_survey.h"

namespace tcpka::tools {

std::string service_name(const std::string& cgroup, std::uint16_t local_port,
                         const std::set<std::uint16_t>& listening_ports) {
  if (!cgroup.empty() && cgroup != "/") return cgroup;
  if (listening_ports.contains(local_port)) return "port " + std::to_string(local_port);
  return "unknown";
}

ConnectionCensus take_census() {
  ConnectionCensus census;
  host::SurveyOptions options;
  options.keep_socket = [](const host::SurveyedSocket& socket, const host::ProcessTable&) {
    return socket.entry.state == TcpConnectionState::established ||
           socket.entry.state == TcpConnectionState::listen;
  };
  auto survey = host::survey_tcp_sockets(options);
  if (!survey) return census;
  census.reader = std::string(host::to_string(survey->reader));
  for (const host::SurveyedSocket& socket : survey->sockets) {
    if (socket.entry.state == TcpConnectionState::listen) {
      census.listening_ports.insert(socket.entry.local.port);
    }
  }
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts;
  for (const host::SurveyedSocket& socket : survey->sockets) {
    SocketOwner owner;
    if (!socket.holders.empty()) {
      owner.pid = socket.holders.front().pid;
      const auto process = survey->processes.processes.find(owner.pid);
      if (process != survey->processes.processes.end()) {
        owner.name = process->second.command;
        owner.cgroup = process->second.cgroup;
      }
    }
    if (socket.entry.state != TcpConnectionState::established) continue;
    const std::string keepalive =
        !socket.settings ? "unknown" : (socket.settings->policy.keepalive ? "on" : "off");
    ++counts[{service_name(owner.cgroup, socket.entry.local.port, census.listening_ports),
              keepalive}];
    if (socket.entry.inode != 0 && owner.pid != 0) {
      census.owners.emplace(socket.entry.inode, std::move(owner));
    }
  }
  for (auto& [key, connections] : counts) {
    census.established.push_back({key.first, key.second, connections});
  }
  return census;
}

ConnectionSurvey::ConnectionSurvey(Millis interval)
    : thread_([this, interval] { run(interval); }) {}

ConnectionSurvey::~ConnectionSurvey() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::optional<ConnectionCensus> ConnectionSurvey::take() {
  const std::lock_guard lock(mutex_);
  return std::exchange(done_, std::nullopt);
}

void ConnectionSurvey::run(Millis interval) {
  while (true) {
    ConnectionCensus census = take_census();
    std::unique_lock lock(mutex_);
    done_ = std::move(census);
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
  }
}

}  // namespace tcpka::tools
