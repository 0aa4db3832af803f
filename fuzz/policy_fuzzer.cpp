// parse_policy on any text, under each platform's limits: it never crashes, what it
// accepts is valid, and the text form round-trips (parse -> to_string -> parse gives the
// same policy and the same text). A policy resolved against a host's defaults
// round-trips too.
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "property.h"
#include "tcpka/policy.h"

using tcpka::fuzz::require;

namespace {

void check(std::string_view text, const tcpka::PolicyLimits& limits) {
  const std::string in_text =
      "input '" + std::string(text) + "' on " + std::string(limits.platform);
  auto policy = tcpka::parse_policy(text, limits);
  if (!policy) {
    require(policy.error().code == std::errc::invalid_argument, "a refusal is invalid_argument",
            in_text);
    tcpka::fuzz::require_one_line(policy.error().message, in_text);
    return;
  }
  require(policy->keepalive || policy->user_timeout.mode != tcpka::UserTimeout::Mode::unset,
          "an accepted policy asks for something", in_text);
  require(tcpka::validate_policy(*policy, limits).ok(), "what parse accepts is valid", in_text);

  const std::string canonical = tcpka::to_string(*policy);
  auto again = tcpka::parse_policy(canonical, limits);
  require(again.ok(), "to_string's text parses",
          in_text + " -> '" + canonical + "': " + (again ? "" : again.error().message));
  require(*again == *policy, "parse(to_string(p)) == p", in_text + " -> '" + canonical + "'");
  require(tcpka::to_string(*again) == canonical, "to_string is canonical", in_text);

  // Against a stock host: whatever resolves must read back as itself.
  const tcpka::SystemDefaults host;
  auto resolved = tcpka::resolve(*policy, host, limits);
  if (!resolved) return;
  const std::string resolved_text = tcpka::to_string(*resolved);
  auto reparsed = tcpka::parse_policy(resolved_text, limits);
  require(reparsed.ok(), "a resolved policy's text parses",
          in_text + " -> '" + resolved_text + "': " + (reparsed ? "" : reparsed.error().message));
  auto re_resolved = tcpka::resolve(*reparsed, host, limits);
  require(re_resolved.ok() && *re_resolved == *resolved, "resolve(parse(to_string(r))) == r",
          in_text + " -> '" + resolved_text + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcpka::fuzz::as_text(data, size);
  for (const tcpka::PolicyLimits* limits :
       {&tcpka::kLinuxLimits, &tcpka::kWindowsLimits, &tcpka::kDarwinLimits}) {
    check(text, *limits);
  }
  return 0;
}
