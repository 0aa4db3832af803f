#include "net/firewall.h"

#include <nftables/libnftables.h>

#include <string>

namespace tcpka::net {

void Firewall::Freer::operator()(nft_ctx* context) const {
  nft_ctx_free(context);
}

Firewall::Firewall(const NetNamespace& ns, std::unique_ptr<nft_ctx, Freer> context)
    : ns_(&ns), context_(std::move(context)) {}

Result<Firewall> Firewall::open_in(const NetNamespace& ns) {
  // libnftables opens its netlink socket when it first needs one: create and run it
  // inside the namespace, always.
  return inside(ns, [&]() -> Result<Firewall> {
    std::unique_ptr<nft_ctx, Freer> context(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!context) return errno_error(ENOMEM, "nft_ctx_new");
    // Keep nft's messages for our error line instead of letting it print them.
    if (nft_ctx_buffer_output(context.get()) != 0 || nft_ctx_buffer_error(context.get()) != 0) {
      return errno_error(ENOMEM, "nft_ctx_buffer_error");
    }
    return Firewall(ns, std::move(context));
  });
}

Result<void> Firewall::run(std::string_view commands) {
  const std::string text(commands);
  return inside(*ns_, [&]() -> Result<void> {
    if (nft_run_cmd_from_buffer(context_.get(), text.c_str()) == 0) return {};
    std::string message = nft_ctx_get_error_buffer(context_.get());
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    const bool denied = message.find("Operation not permitted") != std::string::npos;
    return errno_error(denied ? EPERM : EINVAL, "nft: " + message);
  });
}

}  // namespace tcpka::net
