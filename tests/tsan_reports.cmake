# The ThreadSanitizer build's report folder (tests/CMakeLists.txt): `-DMODE=clear` empties
# it before the tests, `-DMODE=check` fails, showing every report, if any test or any
# process a test ran wrote one.
#   cmake -DMODE=clear|check -DREPORTS=DIR -P tsan_reports.cmake
if(MODE STREQUAL "clear")
  file(REMOVE_RECURSE ${REPORTS})
  file(MAKE_DIRECTORY ${REPORTS})
  file(CHMOD ${REPORTS} DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
    GROUP_WRITE GROUP_EXECUTE WORLD_READ WORLD_WRITE WORLD_EXECUTE)
elseif(MODE STREQUAL "check")
  file(GLOB reports ${REPORTS}/report.*)
  if(reports)
    list(LENGTH reports count)
    foreach(report IN LISTS reports)
      file(READ ${report} text)
      message("${report}:\n${text}")
    endforeach()
    message(FATAL_ERROR "ThreadSanitizer: ${count} report file(s) in ${REPORTS}")
  endif()
  message("ThreadSanitizer: no reports")
else()
  message(FATAL_ERROR "MODE must be clear or check")
endif()
