// The request a metrics client sends, read as its bytes arrive: how much of an HTTP/1.x
// request head must come before it can be answered, and with what. Apart from the
// sockets (metrics_endpoint.cpp) so that it can be tested and fuzzed on bytes alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpka::tools {

// What to answer, once the bytes so far decide it.
enum class RequestVerdict {
  incomplete,             // nothing is wrong yet, and the head has not ended: wait
  metrics,                // GET /metrics (or /, a query allowed): 200 and the exposition
  metrics_head,           // HEAD of the same: 200 without the body
  not_found,              // GET or HEAD of another target: 404
  method_not_allowed,     // any other method: 405
  bad_request,            // not an HTTP request head: 400, as soon as a byte says so
  too_large,              // the head did not end within kMaxRequestHead bytes: 431
  version_not_supported,  // HTTP/2.0 and the like: 505
};

// A scraper's request head fits in far less; anything longer is not one.
inline constexpr std::size_t kMaxRequestHead = std::size_t{8} * 1024;

// Reads one request head (RFC 9112: request line, header fields, the empty line; a bare
// LF ends a line too, and empty lines before the request line are skipped). Keeps at
// most kMaxRequestHead bytes, whatever the client sends, and looks at each byte once.
class RequestReader {
 public:
  // Takes the next bytes. Once the verdict is not `incomplete` it stays what it is, and
  // later bytes are ignored: however the request is cut into pieces, the verdict is the
  // one classify_request() gives the whole.
  RequestVerdict add(std::string_view bytes);
  RequestVerdict verdict() const { return verdict_; }

 private:
  enum class State : std::uint8_t {
    leading_line,  // before the request line: empty lines are skipped
    leading_cr,
    method,
    target,
    version,  // "HTTP/d.d", checked against kVersionShape
    request_line_cr,
    field_start,  // at the start of a header line, or of the empty line that ends the head
    field_name,
    field_value,
    field_cr,
    final_cr,
  };

  RequestVerdict step(char c);
  RequestVerdict decide() const;

  State state_ = State::leading_line;
  RequestVerdict verdict_ = RequestVerdict::incomplete;
  std::size_t seen_ = 0;  // bytes taken, up to kMaxRequestHead
  std::string method_;    // bounded: longer than any method answered here is "other"
  std::string target_;    // likewise, without the query
  bool target_has_query_ = false;
  bool method_long_ = false;
  bool target_long_ = false;
  std::string version_;
};

// The verdict on `received`, the bytes a client has sent so far.
RequestVerdict classify_request(std::string_view received);

}  // namespace tcpka::tools
