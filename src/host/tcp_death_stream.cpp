#include "host/tcp_death_stream.h"

#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "host/bpf_loading.h"
#include "tcp_death_record.h"
#include "tcp_deaths.skel.h"

namespace tcpka::host {
namespace {

static_assert(sizeof(tcp_death_record) == 144, "the BPF program writes 144-byte records");

constexpr std::string_view kSubject = "BPF death watch";
constexpr std::uint32_t kSilenceUnknown = 0xffffffffU;

std::int64_t clock_ns(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

net::CompactAddress address_of(const std::uint8_t (&ip)[16], std::uint16_t port,
                               std::uint8_t family) {
  net::CompactAddress address;
  address.port = port;
  if (family == 2 /* AF_INET */) {
    // IPv4-mapped, as CompactAddress keeps IPv4.
    address.ip[10] = 0xff;
    address.ip[11] = 0xff;
    std::copy_n(ip, 4, address.ip.begin() + 12);
  } else {
    std::copy_n(ip, 16, address.ip.begin());
  }
  return address;
}

}  // namespace

struct TcpDeathStream::State {
  struct Destroy {
    void operator()(::tcp_deaths* object) const { tcp_deaths__destroy(object); }
    void operator()(::ring_buffer* buffer) const { ring_buffer__free(buffer); }
  };
  std::unique_ptr<::tcp_deaths, Destroy> skeleton;
  std::unique_ptr<::ring_buffer, Destroy> ring;
  // CLOCK_MONOTONIC (bpf_ktime_get_ns) to the wall clock.
  std::int64_t realtime_minus_monotonic_ns = 0;
  const Visitor* visitor = nullptr;  // set for the time of drain()
  bool config_readable = false;

  TcpDeath death_of(const tcp_death_record& r) const;
  static int on_record(void* self, void* data, std::size_t size);
};

TcpDeath TcpDeathStream::State::death_of(const tcp_death_record& r) const {
  TcpDeath death;
  death.when = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(
          static_cast<std::int64_t>(r.time_ns) + realtime_minus_monotonic_ns)));
  death.local = address_of(r.local_address, r.local_port, r.family);
  death.remote = address_of(r.remote_address, r.remote_port, r.family);
  death.netns_inode = r.netns_inode;
  death.inode = r.inode;
  death.cgroup_id = r.cgroup_id;
  death.owner_pid = static_cast<pid_t>(r.owner_pid);
  death.owner_name.assign(
      reinterpret_cast<const char*>(r.owner_name),
      ::strnlen(reinterpret_cast<const char*>(r.owner_name), sizeof(r.owner_name)));
  death.old_state = static_cast<TcpConnectionState>(r.old_state);
  if (r.error != 0) death.error = std::error_code(r.error, std::generic_category());
  death.peer_fin = r.peer_fin != 0;
  death.reset_sent = r.reset_sent != 0;
  death.keepalive_on = r.keepalive_on != 0;
  death.user_timeout = Millis(r.user_timeout_ms);
  death.unsent_bytes = r.unsent_bytes;
  death.in_flight_bytes = r.in_flight_bytes;
  if (r.born_ns != 0 && r.born_ns <= r.time_ns) {
    death.lifetime =
        std::chrono::duration_cast<Millis>(std::chrono::nanoseconds(r.time_ns - r.born_ns));
  }
  if (r.silent_ms != kSilenceUnknown) death.silent = Millis(r.silent_ms);
  death.probes = r.probes;
  death.retransmits = r.retransmits;
  death.total_retransmits = r.total_retransmits;
  // The peer's FIN takes a sequence number, which bytes_received counts with the data.
  death.bytes_in = r.bytes_received - (r.peer_fin != 0 && r.bytes_received > 0 ? 1 : 0);
  death.bytes_out = r.bytes_sent;
  return death;
}

int TcpDeathStream::State::on_record(void* self, void* data, std::size_t size) {
  const auto* state = static_cast<const State*>(self);
  if (size < sizeof(tcp_death_record) || state->visitor == nullptr) return 0;
  tcp_death_record record{};
  std::memcpy(&record, data, sizeof(record));
  (*state->visitor)(state->death_of(record));
  return 0;
}

Result<TcpDeathStream> TcpDeathStream::open() {
  if (auto btf = detail::require_kernel_btf(kSubject); !btf) return btf.error();
  detail::capture_libbpf_messages();
  auto state = std::make_unique<State>();
  // Without the kernel's config the program reports the idle clock as unknown.
  // LIBBPF_OPTS is a C macro (a statement expression): filled in here by hand instead.
  bpf_object_open_opts options{};
  options.sz = sizeof(options);
  options.kconfig = detail::kconfig_fallback();
  state->config_readable = options.kconfig == nullptr;
  state->skeleton.reset(tcp_deaths__open_opts(&options));
  if (!state->skeleton) return detail::bpf_error(errno, kSubject, "open");
  if (tcp_deaths__load(state->skeleton.get()) != 0) {
    return detail::bpf_error(errno, kSubject, "load");
  }
  if (tcp_deaths__attach(state->skeleton.get()) != 0) {
    return detail::bpf_error(errno, kSubject, "attach to the socket tracepoints");
  }
  state->realtime_minus_monotonic_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  state->ring.reset(ring_buffer__new(bpf_map__fd(state->skeleton->maps.deaths), &State::on_record,
                                     state.get(), nullptr));
  if (!state->ring) return detail::bpf_error(errno, kSubject, "open the ring buffer");
  return TcpDeathStream(std::move(state));
}

TcpDeathStream::TcpDeathStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
TcpDeathStream::TcpDeathStream(TcpDeathStream&&) noexcept = default;
TcpDeathStream& TcpDeathStream::operator=(TcpDeathStream&&) noexcept = default;
TcpDeathStream::~TcpDeathStream() = default;

int TcpDeathStream::fd() const {
  return ring_buffer__epoll_fd(state_->ring.get());
}

Result<int> TcpDeathStream::drain(const Visitor& visit) {
  state_->visitor = &visit;
  const int consumed = ring_buffer__consume(state_->ring.get());
  state_->visitor = nullptr;
  if (consumed < 0) return detail::bpf_error(-consumed, kSubject, "read the ring buffer");
  return consumed;
}

std::uint64_t TcpDeathStream::lost() const {
  // The BPF program adds to it atomically; a relaxed read of the mapped word suffices.
  return std::atomic_ref<__u64>(state_->skeleton->bss->lost_events).load(std::memory_order_relaxed);
}

bool TcpDeathStream::knows_silence() const {
  return state_->config_readable;
}

}  // namespace tcpka::host
