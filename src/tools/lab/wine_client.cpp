#include "lab/wine_client.h"

#include <fmt/core.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

namespace tcpka::tools::lab {
namespace {

// How long stopping a wineserver may take before the lab gives up on it.
constexpr std::chrono::seconds kStopTimeout{10};

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// Debian's wine64 package installs it outside PATH.
std::string find_wine64() {
  if (const char* path = std::getenv("PATH")) {
    std::string directories = path;
    std::size_t start = 0;
    while (start <= directories.size()) {
      const std::size_t end = std::min(directories.find(':', start), directories.size());
      std::string candidate = directories.substr(start, end - start) + "/wine64";
      if (end > start && executable(candidate)) return candidate;
      start = end + 1;
    }
  }
  return executable("/usr/lib/wine/wine64") ? "/usr/lib/wine/wine64" : "";
}

// What the wineserver's stop left running: every process of this client's Wine carries
// its prefix in WINEPREFIX. The lab kills those and waits until none is left. A killed
// process that is gone but not yet reaped (its parent is init: Wine daemonizes) has no
// environment any more, so it counts as gone: it holds no namespace and runs nothing.
bool runs_in_prefix(const std::filesystem::path& process, const std::string& setting) {
  std::ifstream environ(process / "environ", std::ios::binary);
  for (std::string variable; std::getline(environ, variable, '\0');) {
    if (variable == setting) return true;
  }
  return false;
}

void kill_wine_of(const std::string& prefix) {
  const std::string setting = "WINEPREFIX=" + prefix;
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!runs_in_prefix(entry.path(), setting)) continue;
      any = true;
      ::kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<WineClient::Programs> WineClient::find(const std::string& client) {
  if (client.empty() || !std::filesystem::exists(client)) {
    return errno_error(ENOENT, "no Windows client at '" + client +
                                   "' (./dev setup builds it into build-windows/)");
  }
  Programs programs{find_wine64(), "", client};
  if (programs.wine64.empty()) {
    return errno_error(ENOENT, "wine64 is not installed (Debian package wine64)");
  }
  const std::filesystem::path directory = std::filesystem::path(programs.wine64).parent_path();
  for (const char* name : {"wineserver64", "wineserver"}) {
    if (executable(directory / name)) {
      programs.wineserver = directory / name;
      break;
    }
  }
  if (programs.wineserver.empty()) {
    return errno_error(ENOENT, "no wineserver next to " + programs.wine64);
  }
  return programs;
}

Result<WineClient> WineClient::start(const net::NetNamespace& ns, const Programs& programs,
                                     const std::string& arguments) {
  char directory[] = "/tmp/tcpka-lab-wine-XXXXXX";
  if (::mkdtemp(directory) == nullptr) {
    const int error = errno;
    return errno_error(error, std::string("mkdtemp: ") + std::generic_category().message(error));
  }
  WineClient client(directory, programs, ns);
  auto process = TargetProcess::start(
      ns, fmt::format("env {} '{}' '{}' {} >'{}/output' 2>/dev/null", client.wine_environment(),
                      programs.wine64, programs.client, arguments, client.directory_));
  if (!process) return process.error();
  client.process_.emplace(std::move(*process));
  return client;
}

WineClient::WineClient(WineClient&& other) noexcept
    : directory_(std::exchange(other.directory_, "")),
      programs_(std::move(other.programs_)),
      ns_(other.ns_),
      process_(std::move(other.process_)) {
  other.process_.reset();
}

std::string WineClient::wine_environment() const {
  return fmt::format("WINEPREFIX='{}/prefix' WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml=",
                     directory_);
}

WineClient::~WineClient() {
  if (directory_.empty()) return;
  process_.reset();  // kills the program
  // The wineserver and Wine's own services left their process group when they
  // daemonized: stop them through the server, and wait until they are gone.
  auto stopper = TargetProcess::start(*ns_, fmt::format("env {0} '{1}' -k; env {0} '{1}' -w",
                                                        wine_environment(), programs_.wineserver));
  if (stopper) {
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    while (stopper->running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  kill_wine_of(directory_ + "/prefix");  // what the stop missed, if it timed out
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::vector<std::string> WineClient::lines() const {
  std::vector<std::string> lines;
  std::ifstream output(directory_ + "/output");
  for (std::string line; std::getline(output, line);)
    lines.push_back(line);
  return lines;
}

}  // namespace tcpka::tools::lab
