// nftables rules of one network namespace, through libnftables (the library behind the
// `nft` command, without running it). Commands are nft's own language, so a rule reads
// here exactly as a user would type it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "net/net_namespace.h"
#include "tcpka/result.h"

struct nft_ctx;

namespace tcpka::net {

class Firewall {
 public:
  // Every command runs inside `ns`, which must outlive the Firewall.
  static Result<Firewall> open_in(const NetNamespace& ns);

  // Runs one or more nft commands as one transaction; the error carries nft's message.
  Result<void> run(std::string_view commands);

 private:
  struct Freer {
    void operator()(nft_ctx* context) const;
  };
  Firewall(const NetNamespace& ns, std::unique_ptr<nft_ctx, Freer> context);

  const NetNamespace* ns_;
  std::unique_ptr<nft_ctx, Freer> context_;
};

}  // namespace tcpka::net
