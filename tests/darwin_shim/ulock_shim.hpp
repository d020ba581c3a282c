// Test controls of the ulock shim (ulock_shim.cpp): the three macOS calls __ulock_wait,
// __ulock_wait2 and __ulock_wake, implemented on Linux with futex(2) so that the macOS
// backend (platform/ulock_darwin.cpp) runs here, plus hooks that let tests see what the backend
// passed and make the "kernel" answer things a real one would only answer after hours.
//
// The shim follows XNU's conventions: with ULF_NO_ERRNO an error is returned as -errno,
// without it as -1 with errno set; a wait whose word already differs returns 0 at once; a
// timeout of 0 means no timeout; a wake with nobody waiting fails with ENOENT; unknown opcodes
// or flags fail with EINVAL.
#pragma once

#include <cstdint>

namespace exitleft::test::ulock_shim {

// The ABI's constants, written down independently of the backend's copy so that a wrong value
// on either side shows up in the tests (values from XNU's bsd/sys/ulock.h).
inline constexpr std::uint32_t kCompareAndWait = 1;        // UL_COMPARE_AND_WAIT
inline constexpr std::uint32_t kCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED
inline constexpr std::uint32_t kOpcodeMask = 0x000000ff;   // UL_OPCODE_MASK
inline constexpr std::uint32_t kWakeAll = 0x00000100;      // ULF_WAKE_ALL
inline constexpr std::uint32_t kWakeThread = 0x00000200;   // ULF_WAKE_THREAD
inline constexpr std::uint32_t kNoErrno = 0x01000000;      // ULF_NO_ERRNO

enum class WaitCall { kNone, kWait, kWait2 };

// The arguments of one wait call. `timeout` is in the call's own unit: µs for __ulock_wait,
// ns for __ulock_wait2.
struct WaitRecord {
  WaitCall call = WaitCall::kNone;
  std::uint32_t operation = 0;
  const void* addr = nullptr;
  std::uint64_t value = 0;
  std::uint64_t timeout = 0;
  std::uint64_t value2 = 0;
  int result = 0;  // what the call returned
};

struct WakeRecord {
  std::uint32_t operation = 0;
  const void* addr = nullptr;
  std::uint64_t wake_value = 0;
  int result = 0;  // what the call returned (-ENOENT: nobody was waiting)
};

// Whether this build of the shim defines __ulock_wait2 (the exitleft_ulock_shim_no_wait2
// library leaves it out, like macOS before 11).
bool provides_wait2() noexcept;

// Forgets every record and counter and cancels pending injections.
void reset() noexcept;

// The next `count` wait calls (either kind) return `error` (a positive errno value, e.g.
// ETIMEDOUT to play a capped timeout that expired, EINTR, EFAULT) at once, without waiting.
void fail_next_waits(int error, int count) noexcept;
// The next `count` wake calls return `error` at once, without waking anyone.
void fail_next_wakes(int error, int count) noexcept;

WaitRecord last_wait() noexcept;
WakeRecord last_wake() noexcept;
std::uint64_t legacy_wait_calls() noexcept;  // __ulock_wait
std::uint64_t wait2_calls() noexcept;        // __ulock_wait2
std::uint64_t wake_calls() noexcept;         // __ulock_wake, any flags
std::uint64_t wake_all_calls() noexcept;     // __ulock_wake with ULF_WAKE_ALL
std::uint64_t errno_style_calls() noexcept;  // calls of any kind without ULF_NO_ERRNO
// Threads inside a wait call right now (counted from just before the futex call to just after).
int threads_in_wait() noexcept;

}  // namespace exitleft::test::ulock_shim
