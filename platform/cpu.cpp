// current_cpu(): which CPU the calling thread runs on, where the OS can say it cheaply.
#include "platform/word_wait.hpp"

#if defined(__linux__)
#include <sched.h>
#elif defined(_WIN32)
#include <windows.h>
#endif

namespace exitleft::platform {

int current_cpu() noexcept {
#if defined(__linux__)
  // glibc 2.35+ reads the rseq area the kernel keeps up to date (no system call); older ones use
  // the vDSO's getcpu. -1 if it fails (a seccomp filter, an old kernel).
  return sched_getcpu();
#elif defined(_WIN32)
  return static_cast<int>(GetCurrentProcessorNumber());  // within the thread's processor group
#else
  return -1;  // macOS and the rest: no cheap public call; the hint is off
#endif
}

}  // namespace exitleft::platform
