// Windows: Winsock's codes (WSAGetLastError(), system category) for the errors a TCP
// connection ends with, paired with their generic meaning.
#include <winsock2.h>

#include <utility>

#include "../platform.h"

namespace tcpka::detail {
namespace {

constexpr std::pair<int, std::errc> kWinsockErrors[] = {
    {WSAETIMEDOUT, std::errc::timed_out},
    {WSAECONNRESET, std::errc::connection_reset},
    {WSAECONNREFUSED, std::errc::connection_refused},
    {WSAECONNABORTED, std::errc::connection_aborted},
    {WSAEHOSTUNREACH, std::errc::host_unreachable},
    {WSAENETUNREACH, std::errc::network_unreachable},
    {WSAENETDOWN, std::errc::network_down},
    {WSAENETRESET, std::errc::network_reset},
    {WSAENOTSOCK, std::errc::not_a_socket},
    {WSAENOPROTOOPT, std::errc::no_protocol_option},
    {WSAEINVAL, std::errc::invalid_argument},
    {WSAEWOULDBLOCK, std::errc::operation_would_block},
    {WSAEINPROGRESS, std::errc::operation_in_progress},
    {WSAEADDRINUSE, std::errc::address_in_use},
    {WSAEACCES, std::errc::permission_denied},
    {WSAEMFILE, std::errc::too_many_files_open},
};

}  // namespace

std::error_code host_down_error() {
  return {WSAEHOSTDOWN, std::system_category()};
}

std::error_code portable_error(std::error_code os_error) {
  if (os_error.category() != std::system_category()) return os_error;
  for (const auto& [code, condition] : kWinsockErrors) {
    if (code == os_error.value()) return std::make_error_code(condition);
  }
  return os_error;
}

std::error_code os_error(std::errc condition) {
  for (const auto& [code, generic] : kWinsockErrors) {
    if (generic == condition) return {code, std::system_category()};
  }
  return std::make_error_code(condition);
}

}  // namespace tcpka::detail
