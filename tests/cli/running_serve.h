// `tcpka serve` started for a test on a kernel-picked loopback port, logging JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/spawned_process.h"

namespace tcpka::testing {

struct RunningServe {
  SpawnedProcess process;
  std::string address;  // "127.0.0.1:PORT"
  int port = 0;
};

// A safety net, not a speed claim: serve says it listens long before this on any machine.
inline constexpr std::chrono::seconds kServeStartLimit{30};

inline int port_of(const std::string& address) {
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// Starts `tcpka serve --listen 127.0.0.1:0 --log json ARGS...` and waits until it listens.
inline RunningServe start_serve(const std::vector<std::string>& args,
                                SpawnedProcess::Options options = {}) {
  std::vector<std::string> argv = {TCPKA_BINARY,  "serve", "--listen",
                                   "127.0.0.1:0", "--log", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnedProcess process = SpawnedProcess::start(argv, options);
  const auto listening = process.wait_for_line("\"listening\"", kServeStartLimit);
  if (!listening) throw std::runtime_error("serve did not start: " + process.error_output());
  const std::string address = nlohmann::json::parse(*listening)["address"];
  return RunningServe{std::move(process), address, port_of(address)};
}

}  // namespace tcpka::testing
