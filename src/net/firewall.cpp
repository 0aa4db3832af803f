#include "net/firewall.h"

#include <nftables/libnftables.h>

#include <mutex>
#include <string>

namespace tcpka::net {
namespace {

// libnftables (1.0.6) is not safe to call from two threads at once, even with a context
// each: nft_ctx_new() initializes GMP and libxtables behind an unlocked once-flag, and a
// command caches its netlink socket's receive buffer size in a plain global (mnl.c;
// ThreadSanitizer saw two scenarios' getsockopt() write it at once). The lab runs a
// Firewall per scenario, each on its own thread, so every call into the library takes
// this lock: one nft command at a time in the whole process, a few milliseconds each.
std::mutex library_mutex;

}  // namespace

void Firewall::Freer::operator()(nft_ctx* context) const {
  const std::lock_guard lock(library_mutex);
  nft_ctx_free(context);
}

Firewall::Firewall(const NetNamespace& ns, std::unique_ptr<nft_ctx, Freer> context)
    : ns_(&ns), context_(std::move(context)) {}

Result<Firewall> Firewall::open_in(const NetNamespace& ns) {
  // libnftables opens its netlink socket when it first needs one: create and run it
  // inside the namespace, always.
  return inside(ns, [&]() -> Result<Firewall> {
    std::unique_ptr<nft_ctx, Freer> context;
    bool buffered = false;
    {  // released before `context` can be freed: the Freer takes it too
      const std::lock_guard lock(library_mutex);
      context.reset(nft_ctx_new(NFT_CTX_DEFAULT));
      // Keep nft's messages for our error line instead of letting it print them.
      buffered = context && nft_ctx_buffer_output(context.get()) == 0 &&
                 nft_ctx_buffer_error(context.get()) == 0;
    }
    if (!context) return errno_error(ENOMEM, "nft_ctx_new");
    if (!buffered) return errno_error(ENOMEM, "nft_ctx_buffer_error");
    return Firewall(ns, std::move(context));
  });
}

Result<void> Firewall::run(std::string_view commands) {
  const std::string text(commands);
  return inside(*ns_, [&]() -> Result<void> {
    const std::lock_guard lock(library_mutex);
    if (nft_run_cmd_from_buffer(context_.get(), text.c_str()) == 0) return {};
    std::string message = nft_ctx_get_error_buffer(context_.get());
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    const bool denied = message.find("Operation not permitted") != std::string::npos;
    return errno_error(denied ? EPERM : EINVAL, "nft: " + message);
  });
}

}  // namespace tcpka::net
