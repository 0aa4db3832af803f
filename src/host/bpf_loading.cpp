#include "host/bpf_loading.h"

#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <system_error>

namespace tcpka::host::detail {
namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

std::mutex last_message_mutex;
std::string last_message;  // guarded by last_message_mutex

int keep_last_message(libbpf_print_level level, const char* format, va_list arguments) {
  if (level == LIBBPF_DEBUG) return 0;
  std::array<char, 512> line{};
  const int n = std::vsnprintf(line.data(), line.size(), format, arguments);
  if (n > 0) {
    std::string text(line.data());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
      text.pop_back();
    const std::lock_guard lock(last_message_mutex);
    last_message = std::move(text);
  }
  return 0;
}

}  // namespace

void capture_libbpf_messages() {
  libbpf_set_print(keep_last_message);
}

Error bpf_error(int error, std::string_view subject, std::string_view what) {
  std::string message = std::string(subject) + ": " + std::string(what) + ": " +
                        std::generic_category().message(error);
  // As root, EPERM is the verifier's or a lockdown's word, not a missing capability.
  if ((error == EPERM || error == EACCES) && ::geteuid() != 0) {
    message += " (loading BPF needs CAP_BPF and CAP_PERFMON, or root)";
  } else {
    const std::lock_guard lock(last_message_mutex);
    if (!last_message.empty()) message += " (libbpf: " + last_message + ")";
  }
  return errno_error(error, message);
}

const char* kconfig_fallback() {
  utsname name{};
  if (::uname(&name) == 0 &&
      ::access((std::string("/boot/config-") + name.release).c_str(), R_OK) == 0) {
    return nullptr;
  }
  return ::access("/proc/config.gz", R_OK) == 0 ? nullptr : "CONFIG_HZ=0\n";
}

Result<void> require_kernel_btf(std::string_view subject) {
  if (::access(kKernelBtf, R_OK) == 0) return {};
  return errno_error(ENOTSUP, std::string(subject) + ": the kernel has no BTF (" + kKernelBtf +
                                  "), which its CO-RE program needs");
}

}  // namespace tcpka::host::detail
