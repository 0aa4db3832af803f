# Man pages, made by help2man from the commands' own --help, so they cannot drift from the
# program: tcpka(1), and tcpka-SUBCOMMAND(1) for each subcommand, gzipped as Debian ships
# them. On by default where help2man is (./dev installs it); the sanitizer builds skip them.
find_program(TCPKA_HELP2MAN help2man)
if(TCPKA_HELP2MAN AND NOT TCPKA_SANITIZE AND NOT TCPKA_TSAN)
  set(TCPKA_MAN_PAGES_DEFAULT ON)
else()
  set(TCPKA_MAN_PAGES_DEFAULT OFF)
endif()
option(TCPKA_MAN_PAGES "Make and install the man pages (needs help2man)"
  ${TCPKA_MAN_PAGES_DEFAULT})
if(TCPKA_MAN_PAGES AND NOT TCPKA_HELP2MAN)
  message(FATAL_ERROR "tcpka: TCPKA_MAN_PAGES needs help2man (Debian package help2man), or "
    "configure with -DTCPKA_MAN_PAGES=OFF")
endif()

# Each page: the subcommand ("" for tcpka itself), then its NAME line (help2man's --name).
set(TCPKA_MAN_PAGES_LIST
  "|find dead TCP peers, prove it, and say how long it took"
  "policy|show what a keepalive policy does on this host"
  "serve|an echo server that finds dead peers and logs every close with its cause"
  "connect|open connections to a server and report when and why each one died"
  "lab|reproduce every way a TCP peer dies and compare each detection with its prediction"
  "exec|run a program with keepalive and a user timeout on its TCP sockets"
  "inspect|every TCP socket of the host with the keepalive the kernel holds for it"
  "watch|every TCP connection of the host that ends, with its cause and timing"
  "enforce|keepalive and a user timeout on every TCP connection of a cgroup (eBPF)"
)

set(TCPKA_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(TCPKA_MAN_FILES "")
if(TCPKA_MAN_PAGES)
  foreach(entry IN LISTS TCPKA_MAN_PAGES_LIST)
    string(FIND "${entry}" "|" bar)
    string(SUBSTRING "${entry}" 0 ${bar} subcommand)
    math(EXPR name_start "${bar} + 1")
    string(SUBSTRING "${entry}" ${name_start} -1 name)
    if(subcommand STREQUAL "")
      set(page tcpka.1.gz)
    else()
      set(page tcpka-${subcommand}.1.gz)
    endif()
    add_custom_command(OUTPUT ${TCPKA_MAN_DIR}/${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${TCPKA_MAN_DIR}
      COMMAND ${PROJECT_SOURCE_DIR}/cmake/man_page.sh $<TARGET_FILE:tcpka_cli> "${subcommand}"
        "${name}" ${TCPKA_MAN_DIR}/${page}
      DEPENDS tcpka_cli ${PROJECT_SOURCE_DIR}/cmake/man_page.sh
      COMMENT "Making the man page ${page}"
      VERBATIM)
    list(APPEND TCPKA_MAN_FILES ${TCPKA_MAN_DIR}/${page})
  endforeach()
  add_custom_target(tcpka_man_pages ALL DEPENDS ${TCPKA_MAN_FILES})
endif()
