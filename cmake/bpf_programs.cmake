# BPF programs (src/bpf/*.bpf.c): compiled with clang -target bpf against this kernel's
# BTF (vmlinux.h; CO-RE relocates the fields where another kernel moved them), linked
# with `bpftool gen object` (which also drops the DWARF clang's -g adds next to the BTF),
# and embedded as skeleton headers (`bpftool gen skeleton`) that libbpf loads.
find_program(TCPKA_CLANG NAMES clang clang-14 REQUIRED)
find_program(TCPKA_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)

set(TCPKA_KERNEL_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
  "The kernel BTF that vmlinux.h is generated from (the build's BPF programs use its types)")
if(NOT EXISTS ${TCPKA_KERNEL_BTF})
  message(FATAL_ERROR "tcpka: ${TCPKA_KERNEL_BTF} is missing: the BPF programs need a kernel "
    "built with BTF (CONFIG_DEBUG_INFO_BTF), or -DTCPKA_KERNEL_BTF=<a BTF file>")
endif()

set(TCPKA_BPF_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${TCPKA_BPF_DIR})
add_custom_command(OUTPUT ${TCPKA_BPF_DIR}/vmlinux.h
  COMMAND ${TCPKA_BPFTOOL} btf dump file ${TCPKA_KERNEL_BTF} format c > vmlinux.h.part
  COMMAND ${CMAKE_COMMAND} -E rename vmlinux.h.part vmlinux.h
  WORKING_DIRECTORY ${TCPKA_BPF_DIR}
  COMMENT "Generating vmlinux.h from ${TCPKA_KERNEL_BTF}")

string(TOLOWER ${CMAKE_SYSTEM_PROCESSOR} TCPKA_BPF_ARCH)
if(TCPKA_BPF_ARCH MATCHES "x86_64|amd64")
  set(TCPKA_BPF_ARCH x86)
elseif(TCPKA_BPF_ARCH MATCHES "aarch64|arm64")
  set(TCPKA_BPF_ARCH arm64)
endif()

# tcpka_bpf_skeleton(NAME): src/bpf/NAME.bpf.c -> ${TCPKA_BPF_DIR}/NAME.skel.h
function(tcpka_bpf_skeleton name)
  set(source ${PROJECT_SOURCE_DIR}/src/bpf/${name}.bpf.c)
  set(object ${TCPKA_BPF_DIR}/${name}.bpf.o)
  set(linked ${TCPKA_BPF_DIR}/${name}.o)
  set(skeleton ${TCPKA_BPF_DIR}/${name}.skel.h)
  set(werror "")
  if(TCPKA_WARNINGS_AS_ERRORS)
    set(werror -Werror)
  endif()
  add_custom_command(OUTPUT ${skeleton}
    COMMAND ${TCPKA_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${TCPKA_BPF_ARCH}
      -Wall ${werror} -I${TCPKA_BPF_DIR} -I${PROJECT_SOURCE_DIR}/src/bpf -c ${source} -o ${object}
    COMMAND ${TCPKA_BPFTOOL} gen object ${linked} ${object}
    COMMAND ${TCPKA_BPFTOOL} gen skeleton ${linked} name ${name} > ${skeleton}.part
    COMMAND ${CMAKE_COMMAND} -E rename ${skeleton}.part ${skeleton}
    DEPENDS ${source} ${TCPKA_BPF_DIR}/vmlinux.h ${ARGN}
    COMMENT "Building BPF program ${name}")
  set_property(GLOBAL APPEND PROPERTY TCPKA_BPF_SKELETONS ${skeleton})
endfunction()
