// Windows: no TcpState yet. SIO_TCP_INFO (Windows 10 1703 and later) would give one, but
// mingw-w64's headers do not declare TCP_INFO_v0 and Wine does not implement the ioctl,
// so nothing here could be built against a declared layout or tested.
#include "tcpka/tcp_state.h"

#include <system_error>

namespace tcpka {

Result<TcpState> read_tcp_state(NativeSocket /*socket*/) {
  return Error{std::make_error_code(std::errc::operation_not_supported),
               "read_tcp_state is not available on Windows (SIO_TCP_INFO is not wired)"};
}

}  // namespace tcpka
