// What the LD_PRELOAD shim does, read once from the environment when it loads.
//
//   TCPKA_POLICY        a policy ("idle=10s,intvl=5s,cnt=5", "10:5:5", "on", ...)
//   TCPKA_USER_TIMEOUT  auto | off | D, replacing the policy's ut
//   TCPKA_SCOPE         all (default) | listen | connect
//   TCPKA_PORTS         80,443,8000-8080: only sockets listening on or connecting to these
//   TCPKA_OVERRIDE=1    the policy wins over the program's own setsockopt()
//   TCPKA_DEBUG=1       one line per socket touched, on stderr or in TCPKA_LOG
//   KEEPALIVE=off, KEEPIDLE, KEEPINTVL, KEEPCNT   libkeepalive's variables, for a drop-in
//                       replacement; a TCPKA_POLICY field wins over theirs
#pragma once

#include <bitset>
#include <functional>
#include <string>

#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka::preload {

enum class Scope { every_socket, listening, connecting };

struct ShimConfig {
  Policy policy;  // as set on sockets: a user timeout of ut=auto is already computed
  Scope scope = Scope::every_socket;
  bool every_port = true;
  std::bitset<65536> ports;  // when !every_port
  bool override_program = false;
  bool debug = false;
  std::string log_path;  // empty: stderr

  bool covers_port(std::uint16_t port) const { return every_port || ports.test(port); }
};

using Environment = std::function<const char*(const char* name)>;

// Fails, with one readable line, when a variable is malformed.
Result<ShimConfig> load_shim_config(const Environment& environment);

}  // namespace tcpka::preload
