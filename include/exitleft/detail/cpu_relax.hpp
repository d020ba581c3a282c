// The CPU's spin-loop hint (PAUSE on x86, YIELD on ARM): tells the core that this thread is
// spinning, which saves power and frees the pipeline for a sibling hyper-thread.
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace exitleft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#elif defined(_M_ARM64)
  __yield();
#endif
}

}  // namespace exitleft::detail
