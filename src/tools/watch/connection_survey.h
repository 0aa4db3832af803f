// The survey tcpka watch runs in the background, every --survey-interval: established
// connections by service and keepalive (the gauge), the ports that listen (to name the
// service of an accepted connection), and who holds each socket (to name the owner of a
// connection made before the BPF program was loaded, which never saw its connect()).
// It is tcpka inspect's survey: seconds at 100,000 sockets, so it has a thread of its
// own and the death stream never waits for it.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tcpka/duration.h"
#include "watch/watch_metrics.h"

namespace tcpka::tools {

struct SocketOwner {
  pid_t pid = 0;
  std::string name;
  std::string cgroup;
};

struct ConnectionCensus {
  std::vector<EstablishedCount> established;
  std::set<std::uint16_t> listening_ports;
  std::unordered_map<std::uint64_t, SocketOwner> owners;  // by socket inode
  std::string reader;  // how the settings were read: bpf, pidfd, none
};

// A connection's service: its cgroup, unless that is the root or unknown; then the
// listener's port for an accepted connection ("port 8080"); else "unknown".
std::string service_name(const std::string& cgroup, std::uint16_t local_port,
                         const std::set<std::uint16_t>& listening_ports);

// One survey now, on the calling thread.
ConnectionCensus take_census();

class ConnectionSurvey {
 public:
  // Surveys at once, then every `interval`.
  explicit ConnectionSurvey(Millis interval);
  ~ConnectionSurvey();
  ConnectionSurvey(const ConnectionSurvey&) = delete;
  ConnectionSurvey& operator=(const ConnectionSurvey&) = delete;

  // The census finished since the last call, if any.
  std::optional<ConnectionCensus> take();

 private:
  void run(Millis interval);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                 // guarded by mutex_
  std::optional<ConnectionCensus> done_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace tcpka::tools
