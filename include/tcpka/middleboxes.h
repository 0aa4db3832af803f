// Middleboxes that forget idle TCP flows, and after how long.
//
// A NAT, stateful firewall or load balancer drops its entry for a flow that stays silent
// for its idle timeout; the next segment then vanishes or draws an RST. Keepalive keeps
// such a flow only if its idle time is below that timeout, which `tcpka inspect
// --middlebox` checks. docs/middleboxes.md gives the table with its sources.
#pragma once

#include <span>
#include <string_view>

#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka {

struct Middlebox {
  std::string_view name;         // short id, lower case: "aws-nlb"
  std::string_view description;  // "AWS Network Load Balancer (TCP listeners)"
  Millis idle_timeout;           // how long an established flow may stay silent
  std::string_view note;         // "default; configurable 60 s to 6000 s"
  std::string_view source;       // URL of the documentation that gives the number
};

// The documented middleboxes, sorted by name.
std::span<const Middlebox> known_middleboxes();

// A middlebox by name, in any case, or an idle limit in parse_duration's syntax ("5m"),
// which gives name "custom". Fails with EINVAL and a message naming the known ones.
Result<Middlebox> find_middlebox(std::string_view name_or_duration);

}  // namespace tcpka
