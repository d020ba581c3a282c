// Internal to exitleft: the pieces of the macOS backend (ulock_darwin.cpp) that its tests
// (tests/darwin_ulock_test.cpp, run on Linux against tests/darwin_shim) need to reach. Nothing
// here is public API, and nothing outside those tests calls it.
#pragma once

#include <cstdint>

namespace exitleft::platform::darwin_ulock {

// Longest timeout handed to one __ulock_wait call: its argument is a u32 of microseconds
// (about 71.6 minutes). A longer wait is capped and re-armed by the caller's loop.
inline constexpr std::uint64_t kLegacyMaxTimeoutUs = UINT32_MAX;

// Longest timeout handed to one __ulock_wait2 call. The kernel converts nanoseconds to its own
// time base by multiplying (by 3 on Apple silicon's 24 MHz timer) before it adds the current
// time, so an unbounded u64 could wrap into a deadline in the past. 2^62 ns is ~146 years.
inline constexpr std::uint64_t kWait2MaxTimeoutNs = std::uint64_t{1} << 62;

// The timeout argument for one ulock wait, `remaining_ns` (> 0) before the caller's deadline.
// `value` is never 0 (which the kernel reads as "no timeout"). `capped` says the wait was cut
// short of the deadline, so that its ETIMEDOUT is a spurious wake-up, not a timeout.
struct UlockTimeout {
  std::uint64_t value;
  bool capped;
};
// __ulock_wait: microseconds, rounded up so that the wait never ends before the deadline.
UlockTimeout legacy_timeout(std::uint64_t remaining_ns) noexcept;
// __ulock_wait2: nanoseconds.
UlockTimeout wait2_timeout(std::uint64_t remaining_ns) noexcept;

// Whether __ulock_wait2 exists in this process (macOS 11+, or the test shim).
bool has_wait2() noexcept;
// Whether waits use __ulock_wait2: has_wait2() and not forced onto the legacy path.
bool uses_wait2() noexcept;
// Test-only: makes every wait use __ulock_wait even where __ulock_wait2 exists. Set it while
// no other thread is waiting through the backend.
void force_legacy_for_testing(bool force) noexcept;

}  // namespace exitleft::platform::darwin_ulock
