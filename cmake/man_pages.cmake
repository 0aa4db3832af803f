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

# tcpka_man_page_entry(ENTRY SUBCOMMAND_VAR TITLE_VAR NAME_VAR): one entry, taken apart.
function(tcpka_man_page_entry entry subcommand_var title_var name_var)
  string(REGEX REPLACE "[|].*" "" subcommand "${entry}")
  string(REGEX REPLACE "^[^|]*[|]" "" name "${entry}")
  set(title tcpka)
  if(NOT subcommand STREQUAL "")
    set(title tcpka-${subcommand})
  endif()
  set(${subcommand_var} "${subcommand}" PARENT_SCOPE)
  set(${title_var} ${title} PARENT_SCOPE)
  set(${name_var} "${name}" PARENT_SCOPE)
endfunction()

set(TCPKA_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(TCPKA_MAN_FILES "")
if(TCPKA_MAN_PAGES)
  # Each page's SEE ALSO names all the others.
  set(titles "")
  foreach(entry IN LISTS TCPKA_MAN_PAGES_LIST)
    tcpka_man_page_entry("${entry}" subcommand title name)
    list(APPEND titles ${title})
  endforeach()
  foreach(entry IN LISTS TCPKA_MAN_PAGES_LIST)
    tcpka_man_page_entry("${entry}" subcommand title name)
    set(page ${TCPKA_MAN_DIR}/${title}.1.gz)
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${TCPKA_MAN_DIR}
      COMMAND ${PROJECT_SOURCE_DIR}/cmake/man_page.sh $<TARGET_FILE:tcpka_cli> "${subcommand}"
        "${name}" ${page} ${titles}
      DEPENDS tcpka_cli ${PROJECT_SOURCE_DIR}/cmake/man_page.sh
      COMMENT "Making the man page ${title}(1)"
      VERBATIM)
    list(APPEND TCPKA_MAN_FILES ${page})
  endforeach()
  add_custom_target(tcpka_man_pages ALL DEPENDS ${TCPKA_MAN_FILES})
endif()
