// Internal to exitleft: the pieces of the macOS backend (ulock_darwin.cpp) that its tests
// (tests/darwin_ulock_test.cpp, run on Linux against tests/darwin_shim) need to reach. Nothing
// here is public API, and nothing outside those tests calls it.
#pragma once

#include <cstdint>

namespace exitleft::platform::darwin_ulock {

// The calls the backend can sleep in, best first. Which one a process uses is chosen once, when
// the library loads (chosen_path()), from what the running system has and what the build allows.
enum class Path : std::uint8_t {
  kOsSync,    // os_sync_wait_on_address and friends: public, macOS 14.4+
  kWait2,     // __ulock_wait2 (ns timeouts): private, macOS 11+
  kLegacy,    // __ulock_wait (µs timeouts in a u32): private, macOS 10.12+
  kPortable,  // the portable backend's buckets: only where private calls are forbidden
};
const char* path_name(Path path) noexcept;  // "os_sync", "wait2", "legacy", "portable"

// Longest timeout handed to one __ulock_wait call: its argument is a u32 of microseconds
// (about 71.6 minutes). A longer wait is capped and re-armed by the caller's loop.
inline constexpr std::uint64_t kLegacyMaxTimeoutUs = UINT32_MAX;

// Longest timeout handed to one __ulock_wait2 call. The kernel converts nanoseconds to its own
// time base by multiplying (by 3 on Apple silicon's 24 MHz timer) before it adds the current
// time, so an unbounded u64 could wrap into a deadline in the past. 2^62 ns is ~146 years.
inline constexpr std::uint64_t kWait2MaxTimeoutNs = std::uint64_t{1} << 62;

// Longest timeout handed to one os_sync_wait_on_address_with_timeout call. Apple documents no
// upper bound for its u64 of nanoseconds, and the same kernel converts it to the same time base:
// the same cap, which costs one re-armed wait every 146 years.
inline constexpr std::uint64_t kOsSyncMaxTimeoutNs = kWait2MaxTimeoutNs;

// The timeout argument for one kernel wait, `remaining_ns` (> 0) before the caller's deadline.
// `value` is never 0 (which the ulock calls read as "no timeout" and os_sync rejects with
// EINVAL). `capped` says the wait was cut short of the deadline, so that its ETIMEDOUT is a
// spurious wake-up, not a timeout.
struct KernelTimeout {
  std::uint64_t value;
  bool capped;
};
// __ulock_wait: microseconds, rounded up so that the wait never ends before the deadline.
KernelTimeout legacy_timeout(std::uint64_t remaining_ns) noexcept;
// __ulock_wait2: nanoseconds.
KernelTimeout wait2_timeout(std::uint64_t remaining_ns) noexcept;
// os_sync_wait_on_address_with_timeout: nanoseconds.
KernelTimeout os_sync_timeout(std::uint64_t remaining_ns) noexcept;

// Whether this build may call the private __ulock_* functions (EXITLEFT_DARWIN_PRIVATE_ULOCK).
// When it may not, its object file does not even reference them.
bool private_calls_allowed() noexcept;
// Whether the os_sync_* functions exist in this process (macOS 14.4+, or the test shim).
bool has_os_sync() noexcept;
// Whether __ulock_wait2 exists in this process (macOS 11+, or the test shim). Always false where
// private calls are forbidden: the build does not look for it.
bool has_wait2() noexcept;

// The path chosen when the library loaded: os_sync where the system has it; otherwise
// __ulock_wait2, then __ulock_wait, or, where private calls are forbidden, the portable buckets.
Path chosen_path() noexcept;
// How many times the choice was made in this process: 1, before main() and for good.
int times_chosen() noexcept;
// The path waits and wakes take now: chosen_path(), unless a test forced another.
Path active_path() noexcept;

// Test-only: makes every wait and wake take `path`. Refuses (returns false, changes nothing) a
// path this process cannot take: os_sync without the os_sync functions, a ulock path where
// private calls are forbidden or (wait2) missing, the portable path where private calls are
// allowed (the buckets are not linked then). Set it while no other thread waits through the
// backend; a waiter must be woken on the path it sleeps on.
bool force_path_for_testing(Path path) noexcept;
// Test-only: back to chosen_path().
void stop_forcing_path_for_testing() noexcept;

}  // namespace exitleft::platform::darwin_ulock
