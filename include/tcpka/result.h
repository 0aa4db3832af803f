// Errors as values: the library never throws across its API.
//
// std::expected would do this job, but it is C++23 and tcpka is C++20; this is the
// smallest type that carries both an errno-style code (for programs) and one readable
// line (for people).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace tcpka {

// What went wrong: `code` for programs to branch on, `message` for people.
// The message is one line without a trailing period that names what failed and why,
// e.g. "idle=0s is out of range: TCP_KEEPIDLE accepts 1s..32767s".
struct Error {
  std::error_code code;
  std::string message;
};

// An Error made from an errno value and a message.
inline Error errno_error(int errno_value, std::string message) {
  return Error{std::error_code(errno_value, std::generic_category()), std::move(message)};
}

// An errno value as the std::error_code the library reports.
inline std::error_code errno_code(int errno_value) {
  return {errno_value, std::generic_category()};
}

// The Error of input that cannot be accepted as given.
inline Error invalid_argument(std::string message) {
  return Error{std::make_error_code(std::errc::invalid_argument), std::move(message)};
}

// Text from outside as a message quotes it: control characters escaped (\n, \t, \x01),
// so that the message stays one line whatever the text holds.
inline std::string printable(std::string_view text) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string quoted;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      quoted += "\\n";
    } else if (c == '\t') {
      quoted += "\\t";
    } else if (c == '\r') {
      quoted += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xfU];
    } else {
      quoted += c;
    }
  }
  return quoted;
}

// Either a T or the Error that prevented it.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // Precondition: !ok().
  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// The outcome of an operation that yields nothing but can fail.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  // Precondition: !ok().
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace tcpka
