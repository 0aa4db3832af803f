// What `tcpka inspect` prints: a summary per process (or cgroup), then a row per socket,
// as tables or as JSON.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "host/tcp_survey.h"
#include "inspect/socket_assessment.h"
#include "tcpka/middleboxes.h"

namespace tcpka::tools {

struct InspectedSocket {
  const host::SurveyedSocket* socket = nullptr;
  Assessment assessment;
  bool under_enforce = false;  // its owner's cgroup is under tcpka enforce
};

enum class GroupBy { process, cgroup };

struct InspectReport {
  const host::Survey* survey = nullptr;
  std::vector<InspectedSocket> sockets;
  std::optional<Middlebox> middlebox;
  GroupBy group_by = GroupBy::process;
};

// How a survey read the settings, for people: "a BPF iterator over ...".
std::string describe_reader(host::SettingsSource source);

// With `explain`, every flag that occurs is explained once, after the rows.
std::string render_text(const InspectReport& report, bool explain);
// The report as JSON, one socket per line in "sockets", written as it is made. False
// when `out` did not take it all (errno says why).
bool print_json(const InspectReport& report, std::FILE* out);

}  // namespace tcpka::tools
