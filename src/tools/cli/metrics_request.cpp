#include "cli/metrics_request.h"

namespace tcpka::tools {
namespace {

// Longer methods and targets are none that this endpoint answers; they need not be kept.
constexpr std::size_t kKeptMethod = 8;
constexpr std::size_t kKeptTarget = 16;
// The one shape of HTTP-version (RFC 9112, 2.3), '#' standing for a digit.
constexpr std::string_view kVersionShape = "HTTP/#.#";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 9110, 5.6.2: the characters of a method or a field name.
bool is_token_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Visible ASCII: what a request target is made of.
bool is_visible(char c) {
  return c > ' ' && c < '\x7f';
}

// A field value: visible characters, spaces and tabs, and obs-text (bytes from 0x80).
bool is_field_value_char(char c) {
  return c == '\t' || c == ' ' || is_visible(c) || static_cast<unsigned char>(c) >= 0x80;
}

void keep(std::string& kept, std::size_t limit, bool& overflowed, char c) {
  if (kept.size() < limit) {
    kept += c;
  } else {
    overflowed = true;
  }
}

}  // namespace

RequestVerdict RequestReader::add(std::string_view bytes) {
  for (const char c : bytes) {
    if (verdict_ != RequestVerdict::incomplete) break;
    ++seen_;
    verdict_ = step(c);
    // No byte after the last that fits can end the head any more.
    if (verdict_ == RequestVerdict::incomplete && seen_ == kMaxRequestHead) {
      verdict_ = RequestVerdict::too_large;
    }
  }
  return verdict_;
}

RequestVerdict RequestReader::step(char c) {
  constexpr RequestVerdict kMore = RequestVerdict::incomplete;
  constexpr RequestVerdict kBad = RequestVerdict::bad_request;
  switch (state_) {
    case State::leading_line:
      if (c == '\r') {
        state_ = State::leading_cr;
      } else if (is_token_char(c)) {
        keep(method_, kKeptMethod, method_long_, c);
        state_ = State::method;
      } else if (c != '\n') {
        return kBad;
      }
      return kMore;
    case State::leading_cr:
      if (c != '\n') return kBad;
      state_ = State::leading_line;
      return kMore;
    case State::method:
      if (c == ' ') {
        state_ = State::target;
      } else if (is_token_char(c)) {
        keep(method_, kKeptMethod, method_long_, c);
      } else {
        return kBad;
      }
      return kMore;
    case State::target:
      if (c == ' ') {
        if (target_.empty()) return kBad;
        state_ = State::version;
      } else if (!is_visible(c)) {
        return kBad;
      } else if (c == '?') {
        target_has_query_ = true;
      } else if (!target_has_query_) {
        keep(target_, kKeptTarget, target_long_, c);
      }
      return kMore;
    case State::version:
      if (version_.size() == kVersionShape.size()) {
        if (c == '\r') {
          state_ = State::request_line_cr;
        } else if (c == '\n') {
          state_ = State::field_start;
        } else {
          return kBad;
        }
        return kMore;
      }
      if (const char shape = kVersionShape[version_.size()];
          shape == '#' ? !is_digit(c) : c != shape) {
        return kBad;
      }
      version_ += c;
      return kMore;
    case State::request_line_cr:
    case State::field_cr:
      if (c != '\n') return kBad;
      state_ = State::field_start;
      return kMore;
    case State::field_start:
      // A line starting with a space or tab (obs-fold) is refused, as RFC 9112 allows.
      if (c == '\r') {
        state_ = State::final_cr;
      } else if (c == '\n') {
        return decide();
      } else if (is_token_char(c)) {
        state_ = State::field_name;
      } else {
        return kBad;
      }
      return kMore;
    case State::field_name:
      if (c == ':') {
        state_ = State::field_value;
      } else if (!is_token_char(c)) {
        return kBad;
      }
      return kMore;
    case State::field_value:
      if (c == '\r') {
        state_ = State::field_cr;
      } else if (c == '\n') {
        state_ = State::field_start;
      } else if (!is_field_value_char(c)) {
        return kBad;
      }
      return kMore;
    case State::final_cr:
      return c == '\n' ? decide() : kBad;
  }
  return kBad;
}

// The head is complete: the request line decides.
RequestVerdict RequestReader::decide() const {
  if (version_[5] != '1') return RequestVerdict::version_not_supported;
  const bool get = !method_long_ && method_ == "GET";
  const bool head = !method_long_ && method_ == "HEAD";
  if (!get && !head) return RequestVerdict::method_not_allowed;
  const bool metrics = !target_long_ && (target_ == "/metrics" || target_ == "/");
  if (!metrics) return RequestVerdict::not_found;
  return get ? RequestVerdict::metrics : RequestVerdict::metrics_head;
}

RequestVerdict classify_request(std::string_view received) {
  RequestReader reader;
  return reader.add(received);
}

}  // namespace tcpka::tools
