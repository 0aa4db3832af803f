// Every TCP socket of the host, in every network namespace, with its owner and the
// keepalive settings the kernel holds for it: what `tcpka inspect` shows, and what watch,
// exec --check and the lab's black box read a part of.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "host/process_table.h"
#include "host/socket_settings.h"
#include "net/sock_diag.h"
#include "tcpka/result.h"
#include "tcpka/system_defaults.h"

namespace tcpka::host {

// How to read the settings: the best that works, or one way only (to test each).
enum class SettingsReader { automatic, bpf_iterator, pidfd_getfd, none };

struct SurveyedNamespace {
  std::uint64_t inode = 0;
  std::string label;  // "host", a /run/netns name, "pid N"
  SystemDefaults system;
};

struct SurveyedSocket {
  std::size_t ns = 0;  // index into Survey::namespaces
  net::TcpSocketEntry entry;
  std::vector<SocketHolder> holders;
  std::optional<SocketSettings> settings;
  SettingsSource source = SettingsSource::none;
  std::string unread;  // why the settings are unknown, when they are
};

struct Survey {
  std::vector<SurveyedNamespace> namespaces;
  std::vector<SurveyedSocket> sockets;
  ProcessTable processes;
  SettingsSource reader = SettingsSource::none;  // the best reader that ran
  std::string fallback;  // why a better one did not, "" when none was passed over
  // Namespaces that could not be entered (setns needs CAP_SYS_ADMIN): not listed.
  int unentered_namespaces = 0;
};

struct SurveyOptions {
  SettingsReader reader = SettingsReader::automatic;
  // Which namespaces and sockets to look at; the settings are read only for those kept.
  std::function<bool(const SurveyedNamespace&)> keep_namespace;
  std::function<bool(const SurveyedSocket&, const ProcessTable&)> keep_socket;
};

// Fails only when nothing can be listed, or when the one reader asked for cannot run
// (the error says what is missing).
Result<Survey> survey_tcp_sockets(const SurveyOptions& options);

}  // namespace tcpka::host
