#include "lab/connection_crowd.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "lab/scenario.h"
#include "net/fd_limit.h"
#include "net/listener.h"

namespace tcpka::tools::lab {

// What a shard tells the lab, a fixed-size record per event (written whole: a pipe
// writes up to PIPE_BUF bytes at once).
struct ConnectionCrowd::Record {
  enum Kind : std::uint32_t { ready = 1, last_segment, taken, ended, failed };
  std::uint32_t kind = 0;
  std::uint32_t index = 0;  // the connection within the shard; failed: how many it made
  std::int64_t monotonic_ns = 0;
  std::int32_t error = 0;
  std::int32_t unused = 0;
};

namespace {

using Record = ConnectionCrowd::Record;
using Clock = ConnectionCrowd::Clock;

// At most this many connections per shard; fewer when the descriptor limit is lower.
constexpr int kShardSize = 5'000;
// Descriptors a shard may need besides its connections (what it inherits is closed).
constexpr int kShardReserve = 64;
// Handshakes in flight at once per shard: well inside its listener's backlog, so that no
// SYN is dropped and retried a second later.
constexpr int kInFlight = 512;
// How long opening may take: a second per 2,000 connections on a slow machine, plus slack.
constexpr auto kOpenTimeBase = std::chrono::seconds(20);
constexpr int kConnectionsPerSecondAtWorst = 2'000;
constexpr auto kTakeTimeout = std::chrono::seconds(30);
constexpr int kWaitSliceMs = 50;  // Ctrl-C is seen this fast
// Records held back before a write: one pipe write of up to PIPE_BUF bytes.
constexpr std::size_t kRecordsPerWrite = PIPE_BUF / sizeof(Record);
// The report pipe holds this much, so that a shard rarely waits on the lab.
constexpr int kReportPipeBytes = 1 << 20;
// The first shard's port; shard i listens on kServerPort + 1 + i.
constexpr std::uint16_t kFirstShardPort = kServerPort + 1;

std::int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

Clock::time_point on_steady_clock(std::int64_t monotonic) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC.
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(monotonic)));
}

Error failure(const char* what) {
  const int error = errno;
  return errno_error(error, fmt::format("{}: {}", what, std::generic_category().message(error)));
}

// Everything a shard's process uses, made before fork(): after it, in a process forked
// from a multithreaded one, only system calls are safe (no allocation).
struct ShardWork {
  pid_t parent = 0;
  int ns = -1;
  int listener = -1;
  int reports = -1;
  int commands = -1;
  net::SocketAddress server;
  int count = 0;
  std::vector<int> client_ends;
  std::vector<int> server_ends;
  std::vector<epoll_event> events;
  std::array<Record, kRecordsPerWrite> out{};
  std::size_t held = 0;
};

void flush(ShardWork& w) {
  const auto* bytes = reinterpret_cast<const char*>(w.out.data());
  std::size_t left = w.held * sizeof(Record);
  while (left > 0) {
    const ssize_t n = ::write(w.reports, bytes, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(4);
    bytes += n;
    left -= static_cast<std::size_t>(n);
  }
  w.held = 0;
}

void report(ShardWork& w, const Record& record) {
  w.out[w.held++] = record;
  if (w.held == w.out.size()) flush(w);
}

// Closes every descriptor but the shard's own: one inherited from another scenario's
// thread would keep that scenario's socket open after it closed it.
void close_all_but(std::array<int, 4> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (const int fd : keep) {
    if (fd > static_cast<int>(from)) ::syscall(SYS_close_range, from, fd - 1, 0U);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0U);
}

[[noreturn]] void run_shard(ShardWork& w) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != w.parent) ::_exit(1);
  close_all_but({w.ns, w.listener, w.reports, w.commands});
  if (::setns(w.ns, CLONE_NEWNET) != 0) ::_exit(2);
  int started = 0;
  int accepted = 0;
  while (accepted < w.count) {
    while (started < w.count && started - accepted < kInFlight) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0 || (::connect(fd, w.server.get(), w.server.length) != 0 && errno != EINPROGRESS)) {
        report(w, {Record::failed, static_cast<std::uint32_t>(accepted), 0, errno, 0});
        flush(w);
        ::_exit(3);
      }
      w.client_ends[static_cast<std::size_t>(started++)] = fd;
    }
    int fd = -1;
    while (accepted < w.count && (fd = ::accept4(w.listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0)
      w.server_ends[static_cast<std::size_t>(accepted++)] = fd;
    if (accepted < w.count) {
      pollfd ready{w.listener, POLLIN, 0};
      ::poll(&ready, 1, kWaitSliceMs);  // the lab's deadline ends a shard that hangs here
    }
  }
  const int epoll = ::epoll_create1(0);
  if (epoll < 0) ::_exit(5);
  epoll_event watch{};
  watch.events = EPOLLIN;
  watch.data.u32 = UINT32_MAX;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, w.commands, &watch);
  for (int i = 0; i < w.count; ++i) {
    watch.events = EPOLLRDHUP;  // EPOLLERR and EPOLLHUP come anyway
    watch.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, w.server_ends[static_cast<std::size_t>(i)], &watch);
  }
  report(w, {Record::ready, static_cast<std::uint32_t>(w.count), monotonic_ns(), 0, 0});
  flush(w);
  while (true) {
    const int n = ::epoll_wait(epoll, w.events.data(), static_cast<int>(w.events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ::_exit(6);
    const std::int64_t now = monotonic_ns();
    for (int e = 0; e < n; ++e) {
      const std::uint32_t index = w.events[static_cast<std::size_t>(e)].data.u32;
      if (index == UINT32_MAX) {
        char command = 0;
        if (::read(w.commands, &command, 1) <= 0) ::_exit(0);  // the lab is done
        for (int i = 0; i < w.count; ++i) {
          const int fd = w.server_ends[static_cast<std::size_t>(i)];
          if (fd < 0) continue;
          tcp_info info{};
          socklen_t length = sizeof(info);
          if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) continue;
          // Keepalive's idle clock runs from the later of the last ACK and the last data.
          const std::uint32_t since_ms =
              std::min(info.tcpi_last_ack_recv, info.tcpi_last_data_recv);
          report(w, {Record::last_segment, static_cast<std::uint32_t>(i),
                     monotonic_ns() - std::int64_t{since_ms} * 1'000'000, 0, 0});
        }
        report(w, {Record::taken, 0, now, 0, 0});
        continue;
      }
      const int fd = w.server_ends[index];
      if (fd < 0) continue;
      int error = 0;
      socklen_t length = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      report(w, {Record::ended, index, now, error, 0});
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      w.server_ends[index] = -1;
    }
    flush(w);
  }
}

}  // namespace

Result<ConnectionCrowd> ConnectionCrowd::open(const Topology& topology,
                                              std::span<const Host> clients, int per_host,
                                              const Policy& policy, const std::atomic<bool>* stop) {
  ConnectionCrowd crowd;
  crowd.stop_ = stop;
  const net::FdLimit limit = net::raise_fd_limit(2 * kShardSize + 1'024);
  const int shard_size =
      std::min<int>(kShardSize, static_cast<int>((limit.now - kShardReserve - 1'024) / 2));
  if (shard_size < 1) {
    return errno_error(EMFILE, fmt::format("this process may hold only {} descriptors "
                                           "(ulimit -n)",
                                           limit.now));
  }
  const auto start = Clock::now();
  for (const Host host : clients) {
    for (int left = per_host; left > 0; left -= shard_size) {
      if (auto started = crowd.start_shard(topology, host, std::min(left, shard_size), policy);
          !started) {
        return started.error();
      }
    }
  }
  const auto deadline = start + kOpenTimeBase +
                        std::chrono::seconds(per_host * static_cast<int>(clients.size()) /
                                             kConnectionsPerSecondAtWorst);
  while (crowd.ready_shards_ < crowd.shards_.size()) {
    if (stop != nullptr && stop->load()) return errno_error(EINTR, "interrupted");
    if (Clock::now() >= deadline) {
      return errno_error(ETIMEDOUT, fmt::format("{} of {} shards of connections were established "
                                                "in time",
                                                crowd.ready_shards_, crowd.shards_.size()));
    }
    if (auto read = crowd.read_reports(std::chrono::milliseconds(kWaitSliceMs)); !read) {
      return read.error();
    }
  }
  crowd.took_to_open_ = Clock::now() - start;
  return crowd;
}

Result<void> ConnectionCrowd::start_shard(const Topology& topology, Host host, int count,
                                          const Policy& policy) {
  const auto port = static_cast<std::uint16_t>(kFirstShardPort + shards_.size());
  net::ListenOptions options;
  options.policy = policy;
  auto listener = net::inside(topology.server(), [&] {
    return net::listen_tcp(Topology::address(Host::server, AF_INET, port), options);
  });
  if (!listener) return listener.error();
  int reports[2];
  int commands[2];
  if (::pipe2(reports, O_CLOEXEC) != 0) return failure("pipe2");
  net::UniqueFd report_read(reports[0]), report_write(reports[1]);
  if (::pipe2(commands, O_CLOEXEC) != 0) return failure("pipe2");
  net::UniqueFd command_read(commands[0]), command_write(commands[1]);
  ::fcntl(report_read.get(), F_SETPIPE_SZ, kReportPipeBytes);

  ShardWork work;
  work.parent = ::getpid();
  work.ns = topology.of(host).fd();
  work.listener = listener->get();
  work.reports = report_write.get();
  work.commands = command_read.get();
  work.server = Topology::address(Host::server, AF_INET, port);
  work.count = count;
  work.client_ends.assign(static_cast<std::size_t>(count), -1);
  work.server_ends.assign(static_cast<std::size_t>(count), -1);
  work.events.resize(1'024);
  const pid_t pid = ::fork();
  if (pid < 0) return failure("fork");
  if (pid == 0) run_shard(work);

  Shard shard;
  shard.pid = pid;
  shard.reports = std::move(report_read);
  shard.commands = std::move(command_write);
  shard.first = members_.size();
  shard.count = static_cast<std::size_t>(count);
  members_.resize(members_.size() + shard.count, Member{host, {}, {}, 0});
  shards_.push_back(std::move(shard));
  return {};
}

Result<void> ConnectionCrowd::read_reports(std::chrono::milliseconds timeout) {
  std::vector<pollfd> ready;
  ready.reserve(shards_.size());
  for (const Shard& shard : shards_)
    ready.push_back({shard.reports.get(), POLLIN, 0});
  const int n = ::poll(ready.data(), ready.size(), static_cast<int>(timeout.count()));
  if (n < 0 && errno == EINTR) return {};
  if (n < 0) return failure("poll");
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    if (ready[s].revents == 0) continue;
    Shard& shard = shards_[s];
    const ssize_t got = ::read(shard.reports.get(), read_buffer_.data(), read_buffer_.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int status = 0;
      ::waitpid(shard.pid, &status, WNOHANG);
      return errno_error(ECHILD, fmt::format("a shard of {} connections ended early (status {})",
                                             shard.count, WEXITSTATUS(status)));
    }
    shard.partial.insert(shard.partial.end(), read_buffer_.begin(), read_buffer_.begin() + got);
    const std::size_t whole = shard.partial.size() / sizeof(Record);
    for (std::size_t i = 0; i < whole; ++i) {
      Record record;
      std::memcpy(&record, shard.partial.data() + i * sizeof(Record), sizeof(Record));
      if (record.kind == Record::failed) {
        return errno_error(record.error,
                           fmt::format("a shard made {} of its {} connections: {}", record.index,
                                       shard.count, std::generic_category().message(record.error)));
      }
      take(shard, record);
    }
    shard.partial.erase(shard.partial.begin(), shard.partial.begin() + static_cast<std::ptrdiff_t>(
                                                                           whole * sizeof(Record)));
  }
  return {};
}

void ConnectionCrowd::take(const Shard& shard, const Record& record) {
  if (record.kind == Record::ready) ++ready_shards_;
  if (record.kind == Record::taken) ++taken_shards_;
  if (record.index >= shard.count) return;
  Member& member = members_[shard.first + record.index];
  if (record.kind == Record::last_segment)
    member.last_segment = on_steady_clock(record.monotonic_ns);
  if (record.kind == Record::ended) {
    member.ended = on_steady_clock(record.monotonic_ns);
    member.error = record.error;
  }
}

ConnectionCrowd::Clock::time_point ConnectionCrowd::latest_last_segment() const {
  Clock::time_point latest{};
  for (const Member& member : members_)
    latest = std::max(latest, member.last_segment);
  return latest;
}

Result<void> ConnectionCrowd::take_last_segments() {
  taken_shards_ = 0;
  for (const Shard& shard : shards_) {
    const char command = 'T';
    if (::write(shard.commands.get(), &command, 1) != 1) return failure("write");
  }
  const auto deadline = Clock::now() + kTakeTimeout;
  while (taken_shards_ < shards_.size()) {
    if (Clock::now() >= deadline) {
      return errno_error(ETIMEDOUT, "the shards did not report their connections' last segments");
    }
    if (auto read = read_reports(std::chrono::milliseconds(kWaitSliceMs)); !read) return read;
  }
  return {};
}

Result<bool> ConnectionCrowd::watch_until(Clock::time_point deadline,
                                          const std::function<bool()>& enough) {
  while (!enough()) {
    if (stop_ != nullptr && stop_->load()) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    auto read = read_reports(
        std::min(left + std::chrono::milliseconds(1), std::chrono::milliseconds(kWaitSliceMs)));
    if (!read) return read.error();
  }
  return true;
}

ConnectionCrowd::ConnectionCrowd(ConnectionCrowd&& other) noexcept
    : shards_(std::move(other.shards_)),
      members_(std::move(other.members_)),
      read_buffer_(std::move(other.read_buffer_)),
      ready_shards_(other.ready_shards_),
      taken_shards_(other.taken_shards_),
      took_to_open_(other.took_to_open_),
      stop_(other.stop_) {
  other.shards_.clear();
}

ConnectionCrowd::~ConnectionCrowd() {
  for (Shard& shard : shards_) {
    shard.commands.reset();
    ::kill(shard.pid, SIGKILL);
  }
  for (const Shard& shard : shards_) {
    int status = 0;
    while (::waitpid(shard.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace tcpka::tools::lab
