// Windows: the TCP defaults from the registry values Microsoft documents under
// HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters. Windows adds none of them at
// installation; an absent value means the documented default (documented_defaults()).
#include "tcpka/system_defaults.h"

#include <windows.h>

namespace tcpka {
namespace {

constexpr const wchar_t* kParametersKey = L"SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters";

struct RegistryValue {
  const wchar_t* name;
  const char* readable;  // for not_present and errors
  void (*store)(SystemDefaults&, DWORD);
};

constexpr RegistryValue kValues[] = {
    {L"KeepAliveTime", "KeepAliveTime",
     [](SystemDefaults& d, DWORD v) { d.keepalive_time = Millis(v); }},
    {L"KeepAliveInterval", "KeepAliveInterval",
     [](SystemDefaults& d, DWORD v) { d.keepalive_interval = Millis(v); }},
    {L"TcpMaxDataRetransmissions", "TcpMaxDataRetransmissions",
     [](SystemDefaults& d, DWORD v) { d.retries2 = static_cast<int>(v); }},
    {L"TcpMaxConnectRetransmissions", "TcpMaxConnectRetransmissions",
     [](SystemDefaults& d, DWORD v) { d.syn_retries = static_cast<int>(v); }},
};

}  // namespace

Result<SystemDefaults> read_system_defaults() {
  SystemDefaults defaults = documented_defaults(TcpStack::windows);
  for (const RegistryValue& value : kValues) {
    DWORD data = 0;
    DWORD size = sizeof(data);
    const LSTATUS status = ::RegGetValueW(HKEY_LOCAL_MACHINE, kParametersKey, value.name,
                                          RRF_RT_REG_DWORD, nullptr, &data, &size);
    if (status == ERROR_FILE_NOT_FOUND) {
      defaults.not_present.emplace_back(value.readable);
      continue;
    }
    if (status != ERROR_SUCCESS) {
      const std::error_code error(static_cast<int>(status), std::system_category());
      return Error{error, std::string("cannot read the registry value Tcpip\\Parameters\\") +
                              value.readable + ": " + error.message()};
    }
    value.store(defaults, data);
  }
  return defaults;
}

}  // namespace tcpka
