#include "host/tcp_survey.h"

#include <algorithm>
#include <unordered_map>

#include "host/bpf_tcp_settings.h"
#include "host/network_namespaces.h"

namespace tcpka::host {
namespace {

// The namespace's sysctls, read from inside it (/proc/sys/net follows the thread).
SystemDefaults namespace_defaults(const net::NetNamespace& ns) {
  auto read = net::inside(ns, []() -> Result<SystemDefaults> { return read_system_defaults(); });
  return read ? *read : SystemDefaults{};
}

void read_with_iterator(const TcpSettingsIterator& iterator,
                        const std::vector<NetworkNamespace>& namespaces,
                        const std::vector<std::size_t>& survey_index, Survey& survey) {
  // Socket cookies are unique on the host; a dump has just given every socket one.
  std::unordered_map<std::uint64_t, SurveyedSocket*> by_cookie;
  std::unordered_map<std::uint64_t, SurveyedSocket*> by_inode;
  for (SurveyedSocket& socket : survey.sockets) {
    by_cookie.emplace(socket.entry.cookie, &socket);
    if (socket.entry.inode != 0) by_inode.emplace(socket.entry.inode, &socket);
  }
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    if (survey_index[i] == SIZE_MAX) continue;
    auto walked = iterator.read(namespaces[i].handle);
    if (!walked) {
      for (SurveyedSocket& socket : survey.sockets) {
        if (socket.ns == survey_index[i]) socket.unread = walked.error().message;
      }
      continue;
    }
    for (IteratedSocket& found : *walked) {
      SurveyedSocket* match = nullptr;
      if (const auto it = by_cookie.find(found.cookie);
          found.cookie != 0 && it != by_cookie.end()) {
        match = it->second;
      } else if (const auto at = by_inode.find(found.inode);
                 found.inode != 0 && at != by_inode.end()) {
        match = at->second;
      }
      if (match == nullptr) continue;  // born after the dump, or filtered out
      match->settings = found.settings;
      match->source = SettingsSource::bpf_iterator;
    }
  }
  for (SurveyedSocket& socket : survey.sockets) {
    if (!socket.settings && socket.unread.empty()) {
      // Time-wait and request sockets have no settings of their own.
      socket.unread = "not a full socket";
    }
  }
}

void read_through_pidfd(Survey& survey) {
  const std::string no_holder = survey.processes.unreadable > 0
                                    ? "no owner in sight (none, or one whose descriptors "
                                      "cannot be read)"
                                    : "no process holds it";
  for (SurveyedSocket& socket : survey.sockets) {
    if (socket.holders.empty()) {
      socket.unread = no_holder;
      continue;
    }
    const SocketHolder& holder = socket.holders.front();
    auto settings = read_settings_through_pidfd(holder.pid, holder.fd);
    if (!settings) {
      socket.unread = settings.error().message;
      continue;
    }
    socket.settings = *settings;
    socket.source = SettingsSource::pidfd_getfd;
  }
}

}  // namespace

Result<Survey> survey_tcp_sockets(const SurveyOptions& options) {
  // The BPF program first: if it cannot load, the fallback is known before any walk.
  std::optional<TcpSettingsIterator> iterator;
  std::string fallback;
  if (options.reader == SettingsReader::automatic ||
      options.reader == SettingsReader::bpf_iterator) {
    auto loaded = TcpSettingsIterator::load();
    if (loaded) {
      iterator.emplace(std::move(*loaded));
    } else if (options.reader == SettingsReader::bpf_iterator) {
      return loaded.error();
    } else {
      fallback = loaded.error().message;
    }
  }

  Survey survey;
  survey.processes = read_process_table();
  auto namespaces = list_network_namespaces(survey.processes);
  if (!namespaces) return namespaces.error();

  // Which survey namespace each listed one became (SIZE_MAX: left out).
  std::vector<std::size_t> survey_index(namespaces->size(), SIZE_MAX);
  for (std::size_t i = 0; i < namespaces->size(); ++i) {
    const NetworkNamespace& ns = (*namespaces)[i];
    SurveyedNamespace surveyed{ns.inode, label(ns), {}};
    if (options.keep_namespace && !options.keep_namespace(surveyed)) continue;
    surveyed.system = namespace_defaults(ns.handle);
    auto entries = net::list_tcp_sockets(ns.handle, {.tcp_info = true});
    if (!entries) {
      if (ns.own) return entries.error();
      if (entries.error().code == std::errc::operation_not_permitted) {
        ++survey.unentered_namespaces;
      }
      continue;  // or it ended meanwhile
    }
    survey_index[i] = survey.namespaces.size();
    // Room for this namespace's sockets, growing geometrically across namespaces.
    if (const std::size_t needed = survey.sockets.size() + entries->size();
        needed > survey.sockets.capacity()) {
      survey.sockets.reserve(std::max(needed, 2 * survey.sockets.capacity()));
    }
    for (const net::TcpSocketEntry& entry : *entries) {
      SurveyedSocket socket;
      socket.ns = survey.namespaces.size();
      if (const auto held = survey.processes.holders.find(entry.inode);
          entry.inode != 0 && held != survey.processes.holders.end()) {
        socket.holders = held->second;
      }
      socket.entry = entry;
      if (options.keep_socket && !options.keep_socket(socket, survey.processes)) continue;
      survey.sockets.push_back(std::move(socket));
    }
    survey.namespaces.push_back(std::move(surveyed));
  }

  if (iterator) {
    read_with_iterator(*iterator, *namespaces, survey_index, survey);
    survey.reader = SettingsSource::bpf_iterator;
  } else if (options.reader != SettingsReader::none) {
    read_through_pidfd(survey);
    survey.reader = SettingsSource::pidfd_getfd;
  } else {
    for (SurveyedSocket& socket : survey.sockets)
      socket.unread = "not read (--via none)";
  }
  survey.fallback = std::move(fallback);
  return survey;
}

}  // namespace tcpka::host
