// Whether this Windows program runs under Wine, which exports wine_get_version from its
// ntdll. The tests assert Wine's own behaviour there (it refuses the per-field keepalive
// options, so the fallback path must be the one taken) instead of accepting either path.
#pragma once

#include <windows.h>

namespace tcpka::testing {

inline bool running_under_wine() {
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

}  // namespace tcpka::testing
