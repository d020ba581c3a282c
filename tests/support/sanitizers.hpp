// Whether this test program is built with a sanitizer (ASan, TSan): EXITLEFT_TEST_SANITIZED is
// defined, and kSanitized is true. Stress tests use it to run fewer rounds where every operation
// costs ten times more; races still show.
#pragma once

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define EXITLEFT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define EXITLEFT_TEST_SANITIZED 1
#endif
#endif

namespace exitleft::test {
#if defined(EXITLEFT_TEST_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
}  // namespace exitleft::test
