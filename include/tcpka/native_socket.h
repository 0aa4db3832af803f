// A socket as the platform names it (as libuv's uv_os_sock_t): an fd on POSIX systems,
// a SOCKET on Windows.
#pragma once

#include <cstdint>

namespace tcpka {

#if defined(_WIN32)
using NativeSocket = std::uintptr_t;
#else
using NativeSocket = int;
#endif

}  // namespace tcpka
