// read_system_defaults() on Windows: the registry values the seeds name, and the
// documented defaults where they are absent.
#include <gtest/gtest.h>
#include <windows.h>

#include <algorithm>

#include "tcpka/system_defaults.h"
#include "wine.h"

namespace tcpka {
namespace {

constexpr const wchar_t* kParameters = L"SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters";

bool absent(const SystemDefaults& defaults, const char* name) {
  return std::find(defaults.not_present.begin(), defaults.not_present.end(), name) !=
         defaults.not_present.end();
}

TEST(WindowsSystemDefaults, AbsentValuesAreTheDocumentedDefaults) {
  auto defaults = read_system_defaults();
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->stack, TcpStack::windows);
  EXPECT_EQ(defaults->keepalive_probes, 10);
  if (absent(*defaults, "KeepAliveTime")) {
    EXPECT_EQ(defaults->keepalive_time, Millis(7'200'000));
  }
  if (absent(*defaults, "KeepAliveInterval")) {
    EXPECT_EQ(defaults->keepalive_interval, Millis(1'000));
  }
  if (testing::running_under_wine()) {
    // A fresh Wine prefix, like a fresh Windows, has none of them.
    EXPECT_TRUE(absent(*defaults, "KeepAliveTime"));
    EXPECT_TRUE(absent(*defaults, "TcpMaxDataRetransmissions"));
  }
}

// Writes KeepAliveTime and KeepAliveInterval, reads them back through the library, and
// restores the key as it was. Writing HKLM needs an administrator on Windows; Wine's
// prefix belongs to the user running it.
TEST(WindowsSystemDefaults, ReadsTheRegistryValues) {
  HKEY key = nullptr;
  if (::RegCreateKeyExW(HKEY_LOCAL_MACHINE, kParameters, 0, nullptr, 0, KEY_READ | KEY_WRITE,
                        nullptr, &key, nullptr) != ERROR_SUCCESS) {
    ASSERT_FALSE(testing::running_under_wine()) << "Wine's HKLM must be writable";
    GTEST_SKIP() << "HKLM is not writable without an administrator";
  }
  struct Value {
    const wchar_t* name;
    DWORD data;
    DWORD old = 0;
    bool existed = false;
  };
  Value values[] = {{L"KeepAliveTime", 45'000}, {L"KeepAliveInterval", 1'500}};
  for (Value& v : values) {
    DWORD size = sizeof(v.old);
    v.existed = ::RegGetValueW(key, nullptr, v.name, RRF_RT_REG_DWORD, nullptr, &v.old, &size) ==
                ERROR_SUCCESS;
    ASSERT_EQ(::RegSetValueExW(key, v.name, 0, REG_DWORD, reinterpret_cast<const BYTE*>(&v.data),
                               sizeof(v.data)),
              ERROR_SUCCESS);
  }
  auto defaults = read_system_defaults();
  for (Value& v : values) {
    if (v.existed) {
      ::RegSetValueExW(key, v.name, 0, REG_DWORD, reinterpret_cast<const BYTE*>(&v.old),
                       sizeof(v.old));
    } else {
      ::RegDeleteValueW(key, v.name);
    }
  }
  ::RegCloseKey(key);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->keepalive_time, Millis(45'000));
  EXPECT_EQ(defaults->keepalive_interval, Millis(1'500));
  EXPECT_FALSE(absent(*defaults, "KeepAliveTime"));
}

}  // namespace
}  // namespace tcpka
