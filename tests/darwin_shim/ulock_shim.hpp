// Test controls of the macOS shim (ulock_shim.cpp): the calls the macOS backend
// (platform/ulock_darwin.cpp) may make, implemented on Linux with futex(2) so that the backend
// runs here, plus hooks that let tests see what the backend passed and make the "kernel" answer
// things a real one would only answer after hours.
//
//   private  __ulock_wait, __ulock_wait2, __ulock_wake (XNU's bsd/sys/ulock.h)
//   public   os_sync_wait_on_address, os_sync_wait_on_address_with_timeout,
//            os_sync_wake_by_address_any, os_sync_wake_by_address_all (macOS 14.4+)
//
// The ulock calls follow XNU's conventions: with ULF_NO_ERRNO an error is returned as -errno,
// without it as -1 with errno set; a wait whose word already differs returns 0 at once; a
// timeout of 0 means no timeout; a wake with nobody waiting fails with ENOENT; unknown opcodes
// or flags fail with EINVAL. The os_sync calls follow <os/os_sync_wait_on_address.h>: -1 with
// errno set on any error (success leaves errno alone); size must be 4 (8 is valid on macOS, not
// emulated here) and the address aligned to it; flags other than NONE/SHARED, a clock other than
// OS_CLOCK_MACH_ABSOLUTE_TIME, and a timeout of 0 fail with EINVAL; ETIMEDOUT when the timeout
// expires; a wake with nobody waiting fails with ENOENT.
//
// Libraries (CMakeLists.txt): each one always holds __ulock_wait and __ulock_wake; the optional
// calls are weak references in the backend, null where the library leaves them out.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exitleft::test::ulock_shim {

// The ABI's constants, written down independently of the backend's copy so that a wrong value
// on either side shows up in the tests (values from XNU's bsd/sys/ulock.h and from
// <os/os_sync_wait_on_address.h>, <os/clock.h>).
inline constexpr std::uint32_t kCompareAndWait = 1;        // UL_COMPARE_AND_WAIT
inline constexpr std::uint32_t kCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED
inline constexpr std::uint32_t kOpcodeMask = 0x000000ff;   // UL_OPCODE_MASK
inline constexpr std::uint32_t kWakeAll = 0x00000100;      // ULF_WAKE_ALL
inline constexpr std::uint32_t kWakeThread = 0x00000200;   // ULF_WAKE_THREAD
inline constexpr std::uint32_t kNoErrno = 0x01000000;      // ULF_NO_ERRNO
inline constexpr std::uint32_t kOsSyncWaitNone = 0;        // OS_SYNC_WAIT_ON_ADDRESS_NONE
inline constexpr std::uint32_t kOsSyncWaitShared = 1;      // OS_SYNC_WAIT_ON_ADDRESS_SHARED
inline constexpr std::uint32_t kOsSyncWakeNone = 0;        // OS_SYNC_WAKE_BY_ADDRESS_NONE
inline constexpr std::uint32_t kOsSyncWakeShared = 1;      // OS_SYNC_WAKE_BY_ADDRESS_SHARED
inline constexpr std::uint32_t kMachAbsoluteTime = 32;     // OS_CLOCK_MACH_ABSOLUTE_TIME

enum class WaitCall { kNone, kWait, kWait2, kOsSyncWait, kOsSyncWaitWithTimeout };
enum class WakeCall { kNone, kUlockWake, kOsSyncWakeAny, kOsSyncWakeAll };

// The arguments of one wait call. `timeout` is in the call's own unit: µs for __ulock_wait, ns
// for __ulock_wait2 and os_sync_wait_on_address_with_timeout (0 for os_sync_wait_on_address).
struct WaitRecord {
  WaitCall call = WaitCall::kNone;
  std::uint32_t operation = 0;  // __ulock_*: opcode and flags
  std::uint32_t flags = 0;      // os_sync_*: flags
  const void* addr = nullptr;
  std::uint64_t value = 0;
  std::size_t size = 0;     // os_sync_*: bytes compared
  std::uint32_t clock = 0;  // os_sync_wait_on_address_with_timeout: clock id
  std::uint64_t timeout = 0;
  std::uint64_t value2 = 0;  // __ulock_wait2
  int result = 0;            // what the call reported, in one convention: >= 0, or -errno
};

struct WakeRecord {
  WakeCall call = WakeCall::kNone;
  std::uint32_t operation = 0;  // __ulock_wake: opcode and flags
  std::uint32_t flags = 0;      // os_sync_*: flags
  const void* addr = nullptr;
  std::uint64_t wake_value = 0;  // __ulock_wake
  std::size_t size = 0;          // os_sync_*
  int result = 0;                // >= 0, or -errno (-ENOENT: nobody was waiting)
};

// Whether this build of the shim defines the optional calls: os_sync_* (macOS 14.4+) and
// __ulock_wait2 (macOS 11+).
bool provides_os_sync() noexcept;
bool provides_wait2() noexcept;

// Forgets every record and counter and cancels pending injections.
void reset() noexcept;

// The next `count` wait calls (any kind) report `error` (a positive errno value, e.g. ETIMEDOUT
// to play a capped timeout that expired, EINTR, EFAULT) at once, without waiting.
void fail_next_waits(int error, int count) noexcept;
// The next `count` wake calls (any kind) report `error` at once, without waking anyone.
void fail_next_wakes(int error, int count) noexcept;

WaitRecord last_wait() noexcept;
WakeRecord last_wake() noexcept;
std::uint64_t legacy_wait_calls() noexcept;         // __ulock_wait
std::uint64_t wait2_calls() noexcept;               // __ulock_wait2
std::uint64_t ulock_wake_calls() noexcept;          // __ulock_wake, any flags
std::uint64_t ulock_calls() noexcept;               // all three private calls
std::uint64_t os_sync_wait_calls() noexcept;        // os_sync_wait_on_address
std::uint64_t os_sync_timed_wait_calls() noexcept;  // os_sync_wait_on_address_with_timeout
std::uint64_t os_sync_calls() noexcept;             // all four public calls
std::uint64_t wait_calls() noexcept;                // waits of any kind
std::uint64_t wake_calls() noexcept;                // wakes of any kind
std::uint64_t wake_all_calls() noexcept;            // ULF_WAKE_ALL or os_sync_wake_by_address_all
std::uint64_t errno_style_calls() noexcept;         // ulock calls without ULF_NO_ERRNO
// Threads inside a wait call right now (counted from just before the futex call to just after).
int threads_in_wait() noexcept;

}  // namespace exitleft::test::ulock_shim
