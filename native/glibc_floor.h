// The oldest glibc the prebuilds load on: 2.28 with libstdc++ 3.4.25 (RHEL 8,
// Debian 10's successors, Amazon Linux 2's Node builds), the floor Node's own
// binaries keep. Built on a newer glibc, three calls would bind to versions
// made when libpthread moved into libc (GLIBC_2.34: pthread_create,
// pthread_join; GLIBC_2.32: pthread_sigmask); each is pinned here to the
// version the architecture started with, which every glibc since still
// exports under that name. binding.gyp includes this in every file
// (-include), so no source needs to remember it. test/67-prebuilds checks
// the result in each prebuild's dynamic symbol table.
#pragma once

#if defined(__linux__)
#include <features.h>  // defines __GLIBC__, which the compiler does not
#endif

#if defined(__linux__) && defined(__GLIBC__)
#if defined(__x86_64__)
#define NBC_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define NBC_GLIBC_BASE "GLIBC_2.17"
#endif
#ifdef NBC_GLIBC_BASE
__asm__(".symver pthread_create,pthread_create@" NBC_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" NBC_GLIBC_BASE);
__asm__(".symver pthread_sigmask,pthread_sigmask@" NBC_GLIBC_BASE);
#endif
#endif
