// Windows mode: the detector is a Windows program under Wine (tcpka-lab-client.exe),
// which applies the policy through libtcpka's Windows path and reports how its recv()
// ended. The lab holds the server's end, as in the other client-side scenarios.
#include <fmt/core.h>

#include <charconv>
#include <thread>
#include <utility>

#include "lab/scenario_run.h"
#include "net/listener.h"

namespace tcpka::tools::lab::detail {
namespace {

// The Winsock codes a recv() can end with, as the errors the model predicts.
std::error_code from_winsock(int code) {
  constexpr std::pair<int, std::errc> kCodes[] = {
      {10060, std::errc::timed_out},           {10054, std::errc::connection_reset},
      {10053, std::errc::connection_aborted},  {10065, std::errc::host_unreachable},
      {10051, std::errc::network_unreachable},
  };
  for (const auto& [winsock, generic] : kCodes) {
    if (winsock == code) return std::make_error_code(generic);
  }
  return {code, std::system_category()};
}

// "198.18.0.2" of "198.18.0.2:7001", "2001:2:0:1::2" of "[2001:2:0:1::2]:7001".
std::string address_only(const net::SocketAddress& address) {
  std::string text = net::to_string(address);
  text = text.substr(0, text.rfind(':'));
  if (!text.empty() && text.front() == '[') text = text.substr(1, text.size() - 2);
  return text;
}

bool starts_with(const std::string& line, std::string_view prefix) {
  return line.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

// The first line the client printed that starts with `prefix`; fails on its "error"
// line, its exit, Ctrl-C or the timeout.
Result<std::string> Run::wait_for_windows_line(std::string_view prefix, Millis timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!stopped()) {
    for (const std::string& line : windows_client_->lines()) {
      if (starts_with(line, prefix)) return line;
      if (starts_with(line, "error")) return errno_error(EPROTO, "the Windows client: " + line);
    }
    if (!windows_client_->running()) {
      return errno_error(ECHILD, fmt::format("the Windows client exited before '{}'", prefix));
    }
    if (Clock::now() >= deadline) {
      return errno_error(ETIMEDOUT, fmt::format("the Windows client did not say '{}' within {}",
                                                prefix, format_duration(timeout)));
    }
    std::this_thread::sleep_for(kSlice);
  }
  return errno_error(EINTR, "interrupted");
}

Result<void> Run::connect_windows_client() {
  auto programs = WineClient::find(spec_.windows_client);
  if (!programs) return programs.error();
  const net::SocketAddress server_address =
      Topology::address(Host::server, spec_.family, kServerPort);
  auto listener =
      net::inside(topology_->server(), [&] { return net::listen_tcp(server_address, {}); });
  if (!listener) return listener.error();
  listener_ = std::move(*listener);

  auto client = WineClient::start(topology_->client(), *programs,
                                  fmt::format("{} {} '{}'", address_only(server_address),
                                              kServerPort, to_string(spec_.policy)));
  if (!client) return client.error();
  windows_client_.emplace(std::move(*client));
  connect_start_ = Moment::now();

  auto applied = wait_for_windows_line("applied", kWineStartup);
  if (!applied) return applied.error();
  const std::string_view count_key = "fixed_count=";
  if (const std::size_t at = applied->find(count_key); at != std::string::npos) {
    int count = 0;
    const char* first = applied->data() + at + count_key.size();
    if (std::from_chars(first, applied->data() + applied->size(), count).ec == std::errc()) {
      windows_fixed_count_ = count;
    }
  }
  auto accepted = accept_within(listener_.get(), kSetupTimeout);
  if (!accepted) return accepted.error();
  peer_ = std::move(*accepted);
  // The server's byte is the last segment the client receives before the crash.
  if (auto sent = send_bytes(peer_.get(), 1); !sent) return sent;
  last_segment_ = Moment::now();
  auto ready = wait_for_windows_line("ready", kSetupTimeout);
  if (!ready) return ready.error();
  return {};
}

Result<Measurement> Run::watch_windows_client() {
  const Clock::time_point deadline = reference_.steady + limits_.cap;
  while (!stopped()) {
    drain_capture();
    for (const std::string& line : windows_client_->lines()) {
      constexpr std::string_view kClosed = "closed error=";
      if (!starts_with(line, kClosed)) continue;
      int code = 0;
      std::from_chars(line.data() + kClosed.size(), line.data() + line.size(), code);
      const auto after = std::chrono::duration_cast<Millis>(Clock::now() - reference_.steady);
      Measurement m;
      m.kind = Measurement::ended;
      m.after = after;
      m.error = code == 0 ? std::error_code() : from_winsock(code);
      // The client armed keepalive and no user timeout: a timeout is keepalive's.
      m.cause = code == 0                                ? CloseCause::peer_closed
                : m.error == std::errc::timed_out        ? CloseCause::keepalive_timeout
                : m.error == std::errc::connection_reset ? CloseCause::peer_reset
                                                         : CloseCause::unknown;
      m.note = fmt::format("Windows client under Wine, WSA error {}", code);
      if (windows_fixed_count_) {
        m.note += fmt::format(", SIO_KEEPALIVE_VALS (count fixed at {})", *windows_fixed_count_);
      }
      return m;
    }
    if (Clock::now() >= deadline) {
      Measurement m;
      m.kind = Measurement::still_open;
      return m;
    }
    std::this_thread::sleep_for(kSlice);
  }
  return errno_error(EINTR, "interrupted");
}

}  // namespace tcpka::tools::lab::detail
