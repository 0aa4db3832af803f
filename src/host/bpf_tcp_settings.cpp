#include "host/bpf_tcp_settings.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "host/bpf_loading.h"
#include "net/unique_fd.h"
#include "tcp_settings.skel.h"
#include "tcp_settings_record.h"

namespace tcpka::host {
namespace {

static_assert(sizeof(tcp_settings_record) == 80, "the BPF program writes 80-byte records");

constexpr std::string_view kSubject = "BPF iterator";

// The kernel's HZ, from one namespace value that the record holds in jiffies and
// /proc/sys shows in seconds (read in the same namespace: the caller is inside it).
Result<std::uint32_t> jiffies_per_second(std::uint32_t keepalive_time_jiffies) {
  std::ifstream file("/proc/sys/net/ipv4/tcp_keepalive_time");
  std::uint32_t seconds = 0;
  if (!(file >> seconds) || seconds == 0 || keepalive_time_jiffies % seconds != 0) {
    return errno_error(EPROTO,
                       "BPF iterator: cannot find the kernel's HZ from "
                       "net.ipv4.tcp_keepalive_time");
  }
  return keepalive_time_jiffies / seconds;
}

SocketSettings settings_of(const tcp_settings_record& record, std::uint32_t hz) {
  const auto milliseconds = [hz](std::uint32_t jiffies) {
    return Millis(static_cast<std::int64_t>(jiffies) * 1000 / hz);
  };
  SocketSettings settings;
  ResolvedPolicy& policy = settings.policy;
  policy.keepalive = record.keepalive_on != 0;
  // 0 means "the namespace's sysctl", as keepalive_time_when() and friends resolve it.
  policy.idle = milliseconds(record.keepalive_time != 0 ? record.keepalive_time
                                                        : record.namespace_keepalive_time);
  policy.interval =
      milliseconds(record.keepalive_interval != 0 ? record.keepalive_interval
                                                  : record.namespace_keepalive_interval);
  policy.count = static_cast<int>(record.keepalive_probes != 0 ? record.keepalive_probes
                                                               : record.namespace_keepalive_probes);
  policy.user_timeout = Millis(record.user_timeout_ms);
  settings.idle_from_sysctl = record.keepalive_time == 0;
  settings.interval_from_sysctl = record.keepalive_interval == 0;
  settings.count_from_sysctl = record.keepalive_probes == 0;
  return settings;
}

}  // namespace

void TcpSettingsIterator::Destroy::operator()(::tcp_settings* skeleton) const {
  tcp_settings__destroy(skeleton);
}

Result<TcpSettingsIterator> TcpSettingsIterator::load() {
  if (auto btf = detail::require_kernel_btf(kSubject); !btf) return btf.error();
  detail::capture_libbpf_messages();
  std::unique_ptr<::tcp_settings, Destroy> skeleton(tcp_settings__open_and_load());
  if (!skeleton) return detail::bpf_error(errno, kSubject, "load");
  if (tcp_settings__attach(skeleton.get()) != 0)
    return detail::bpf_error(errno, kSubject, "attach iter/tcp");
  return TcpSettingsIterator(std::move(skeleton));
}

Result<std::vector<IteratedSocket>> TcpSettingsIterator::read(const net::NetNamespace& ns) const {
  return net::inside(ns, [this]() -> Result<std::vector<IteratedSocket>> {
    const net::UniqueFd iterator(bpf_iter_create(bpf_link__fd(skeleton_->links.read_tcp_settings)));
    if (!iterator) return detail::bpf_error(errno, kSubject, "create");
    std::vector<IteratedSocket> sockets;
    std::uint32_t hz = 0;
    // Read in large pieces (one system call per record would be most of the cost with
    // 100,000 sockets); seq_file may split a record between two reads.
    constexpr std::size_t kChunk = 65'536;
    std::vector<char> buffer(kChunk);
    std::size_t held = 0;
    while (true) {
      const ssize_t n = ::read(iterator.get(), buffer.data() + held, buffer.size() - held);
      if (n < 0) {
        if (errno == EINTR) continue;
        return detail::bpf_error(errno, kSubject, "read");
      }
      if (n == 0) break;
      held += static_cast<std::size_t>(n);
      std::size_t at = 0;
      for (; held - at >= sizeof(tcp_settings_record); at += sizeof(tcp_settings_record)) {
        tcp_settings_record record{};
        std::memcpy(&record, buffer.data() + at, sizeof(record));
        if (hz == 0) {
          auto found = jiffies_per_second(record.namespace_keepalive_time);
          if (!found) return found.error();
          hz = *found;
        }
        sockets.push_back({record.cookie, record.inode, settings_of(record, hz)});
      }
      std::memmove(buffer.data(), buffer.data() + at, held - at);
      held -= at;
    }
    if (held != 0) return errno_error(EPROTO, "BPF iterator: the walk ended inside a record");
    return sockets;
  });
}

}  // namespace tcpka::host
