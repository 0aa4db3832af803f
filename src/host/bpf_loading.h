// What every BPF loader of src/host shares: libbpf's diagnostics kept for tcpka's own
// one-line errors (and silent when a fallback takes over), and those errors.
#pragma once

#include <string>
#include <string_view>

#include "tcpka/result.h"

namespace tcpka::host::detail {

// Routes libbpf's messages to a buffer that bpf_error() reads; call before loading.
void capture_libbpf_messages();

// "<subject>: <what>: <strerror>", plus what is missing for EPERM/EACCES, else libbpf's
// last message.
Error bpf_error(int error, std::string_view subject, std::string_view what);

// ENOTSUP naming the missing file when the kernel has no BTF; empty when it has.
Result<void> require_kernel_btf(std::string_view subject);

// For bpf_object_open_opts.kconfig: libbpf resolves CONFIG_HZ from the kernel's config
// (/boot/config-$(uname -r) or /proc/config.gz), which not every kernel publishes; then
// it is given as 0, which the programs take as "HZ unknown", instead of failing to load.
// nullptr when the config is there.
const char* kconfig_fallback();

}  // namespace tcpka::host::detail
