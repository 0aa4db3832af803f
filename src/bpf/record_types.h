// Fixed-size integer names that mean the same in a BPF program (the kernel's __u32...)
// and in the C++ reader (<stdint.h>), for the records the two share.
#ifndef TCPKA_BPF_RECORD_TYPES_H
#define TCPKA_BPF_RECORD_TYPES_H

#ifdef __bpf__
typedef __u8 tcpka_u8;
typedef __u16 tcpka_u16;
typedef __u32 tcpka_u32;
typedef __s32 tcpka_s32;
typedef __u64 tcpka_u64;
#else
#include <stdint.h>
typedef uint8_t tcpka_u8;
typedef uint16_t tcpka_u16;
typedef uint32_t tcpka_u32;
typedef int32_t tcpka_s32;
typedef uint64_t tcpka_u64;
#endif

#endif
