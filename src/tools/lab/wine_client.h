// The lab's Windows client: a Windows program run under Wine in one of the lab's hosts.
//
// Wine creates sockets in its wineserver, not in the program, so the wineserver must
// start in the host's namespace: each client gets a Wine prefix of its own (Wine makes
// it on first use, in about 7 s), and with it a wineserver of its own. When the client
// is destroyed, the program is killed, the wineserver stopped and waited for, and the
// prefix deleted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lab/target_process.h"
#include "net/net_namespace.h"
#include "tcpka/result.h"

namespace tcpka::tools::lab {

class WineClient {
 public:
  struct Programs {
    std::string wine64;      // /usr/lib/wine/wine64 on Debian
    std::string wineserver;  // the wineserver next to it
    std::string client;      // the Windows program
  };
  // Wine and `client`, or why they cannot be used.
  static Result<Programs> find(const std::string& client);

  // Runs `client ARGUMENTS` under Wine in `ns`; its output goes to a file.
  static Result<WineClient> start(const net::NetNamespace& ns, const Programs& programs,
                                  const std::string& arguments);
  WineClient(WineClient&& other) noexcept;
  WineClient& operator=(WineClient&&) = delete;
  ~WineClient();

  // Every line the program has printed so far.
  std::vector<std::string> lines() const;
  bool running() { return process_ && process_->running(); }

 private:
  WineClient(std::string directory, Programs programs, const net::NetNamespace& ns)
      : directory_(std::move(directory)), programs_(std::move(programs)), ns_(&ns) {}
  std::string wine_environment() const;

  std::string directory_;  // the prefix and the output, deleted at the end
  Programs programs_;
  const net::NetNamespace* ns_;
  std::optional<TargetProcess> process_;
};

}  // namespace tcpka::tools::lab
