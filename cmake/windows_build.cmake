# The Windows build (included by CMakeLists.txt when cross-building with mingw-w64):
# libtcpka, tcpka.exe with the `policy` subcommand, and the library's tests, which run
# under Wine.

# CLI11, fmt, nlohmann-json and GoogleTest's headers are the Debian packages' own, used
# header-only: a directory of links to just them, because putting /usr/include itself on
# the path would bring glibc's headers into a Windows build.
set(TCPKA_HOST_HEADERS ${CMAKE_BINARY_DIR}/host-headers)
foreach(library fmt CLI nlohmann gtest gmock)
  if(NOT EXISTS /usr/include/${library})
    message(FATAL_ERROR "tcpka: /usr/include/${library} is missing (./dev setup installs it)")
  endif()
  file(MAKE_DIRECTORY ${TCPKA_HOST_HEADERS})
  file(CREATE_LINK /usr/include/${library} ${TCPKA_HOST_HEADERS}/${library} SYMBOLIC)
endforeach()
add_library(tcpka_header_only INTERFACE)
target_include_directories(tcpka_header_only SYSTEM INTERFACE ${TCPKA_HOST_HEADERS})
target_compile_definitions(tcpka_header_only INTERFACE FMT_HEADER_ONLY)

# Executables carry their C++ runtime, so Wine needs no DLL but Windows' own.
add_link_options(-static)

# Test programs run under Wine, in a prefix of this build's (made by the wine_prefix
# fixture, removed with the build directory), with Wine's diagnostics off.
find_program(TCPKA_WINE64 wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_program(TCPKA_WINESERVER wineserver64 wineserver PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH
  REQUIRED)
set(TCPKA_WINE_PREFIX ${CMAKE_BINARY_DIR}/wine-prefix)
set(TCPKA_WINE_ENV WINEPREFIX=${TCPKA_WINE_PREFIX} WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml=)
set(CMAKE_CROSSCOMPILING_EMULATOR env ${TCPKA_WINE_ENV} ${TCPKA_WINE64})

add_library(tcpka_policy_tools STATIC
  src/tools/cli/share_option.cpp
  src/tools/cli/table.cpp
  src/tools/policy/false_kill_report.cpp
  src/tools/policy/policy_command.cpp
  src/tools/policy/heartbeat_report.cpp
  src/tools/policy/policy_report.cpp
  src/tools/policy/windows/live_socket.cpp
)
target_include_directories(tcpka_policy_tools PUBLIC src/tools)
target_link_libraries(tcpka_policy_tools PUBLIC tcpka tcpka_header_only PRIVATE tcpka_warnings)

add_executable(tcpka_cli src/tools/main.cpp src/tools/windows/subcommands.cpp)
set_target_properties(tcpka_cli PROPERTIES OUTPUT_NAME tcpka)
target_link_libraries(tcpka_cli PRIVATE tcpka_policy_tools tcpka_warnings)

# The Windows program of the lab's Windows scenario (the Linux lab runs it under Wine).
add_executable(tcpka_lab_client src/tools/lab/windows_client/lab_client.cpp)
set_target_properties(tcpka_lab_client PROPERTIES OUTPUT_NAME tcpka-lab-client)
target_link_libraries(tcpka_lab_client PRIVATE tcpka tcpka_warnings)

include(CTest)
if(BUILD_TESTING)
  add_subdirectory(tests/windows)
endif()
