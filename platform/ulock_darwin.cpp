// macOS backend: waits on a 32-bit word with the calls the running system offers, best first,
// chosen once when the library loads (chosen_path()):
//
//   os_sync_wait_on_address[_with_timeout], os_sync_wake_by_address_any / _all   macOS 14.4+
//       Public API (<os/os_sync_wait_on_address.h>). Apps that call the private ulock functions
//       get rejected in App Store review (reported for Boost.Atomic); libc++ moved
//       std::atomic::wait to these for that reason.
//   __ulock_wait2 (macOS 11+), else __ulock_wait (10.12+), with __ulock_wake
//       Private (XNU's bsd/sys/ulock.h): what older systems have.
//   the portable backend's buckets (portable.cpp)
//       Only in a build that forbids the private calls, on a system older than 14.4.
//
// EXITLEFT_DARWIN_PRIVATE_ULOCK (the CMake option of that name, ON by default) allows the private
// fallback. At 0 this file does not even reference the __ulock_* functions (a test reads the
// object file with nm), and before macOS 14.4 the process falls back to the portable buckets:
// correct, with the portable backend's costs (wake_one wakes a whole bucket, shared waits poll
// about once a millisecond: word_wait.hpp). That beats failing at load: a build without private
// calls is made for the App Store, whose apps commonly still support systems older than 14.4.
// One caveat: the buckets' wakes reach only their own process. A word shared with a process that
// sleeps in the kernel on it (a build that allows the private calls, on the same pre-14.4
// system) is not woken by this one's wakes: processes sharing words should run one build.
//
// Timeouts. Every call takes a relative timeout, so each wait is computed afresh from the
// absolute steady-clock deadline: a spurious wake-up simply waits again and never drifts. A
// timeout longer than one call can carry is capped (__ulock_wait: a u32 of µs, ~71.6 minutes;
// the nanosecond calls: 2^62 ns); when a capped wait reports ETIMEDOUT the deadline has not
// passed, so the wait returns true (a spurious wake-up) and the caller's loop re-arms it.
// Microseconds are rounded up, so that no wait ends before its deadline. No timeout handed over
// is ever 0, which the ulock calls read as "no timeout" and os_sync_wait_on_address_with_timeout
// rejects (EINVAL): a remainder below one microsecond becomes 1 µs, and a wait without a deadline
// passes 0 to the ulock calls or calls os_sync_wait_on_address, which has no timeout.
//
// Answers. The ulock calls get ULF_NO_ERRNO, so they return negative errno values and leave errno
// alone; the os_sync calls return -1 and set errno, which this file reads and then restores: no
// path changes the caller's errno. Both are read as one convention (>= 0, or -errno). Wait: >= 0
// woken, or the word no longer held `expected` (the call then returns at once with no error);
// -EINTR a signal; -EFAULT the kernel could not read the word without faulting it in (it reads
// under a spinlock); -ETIMEDOUT the timeout expired. Wake: -ENOENT nobody waits.
//
// Words several processes map: UL_COMPARE_AND_WAIT_SHARED, or OS_SYNC_WAIT_ON_ADDRESS_SHARED with
// OS_SYNC_WAKE_BY_ADDRESS_SHARED; the kernel keys such a wait by the memory object, so a wake from
// any process that maps the word reaches every waiter. Waits and wakes of one word must agree on
// the flag (os_sync answers EINVAL otherwise): wait/wake_* and wait_shared/wake_*_shared do.
//
// Every one of these functions is declared here (XNU's ulock.h is private; os_sync's header would
// bring availability attributes instead of weak imports) and the optional ones are weak imports,
// null where the system lacks them: the os_sync four before macOS 14.4, __ulock_wait2 before 11.
// Linking needs the macOS 14.4 SDK (Xcode 15.3+), whose libSystem names the os_sync functions;
// the deployment target may be older. On Linux this file is compiled against tests/darwin_shim,
// which implements both families with futex, each in builds with and without the optional ones.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "platform/ulock_darwin_testing.hpp"
#include "platform/word_wait.hpp"

#if !defined(EXITLEFT_DARWIN_PRIVATE_ULOCK)
#define EXITLEFT_DARWIN_PRIVATE_ULOCK 1
#endif

#if defined(__APPLE__)
#define EXITLEFT_DARWIN_WEAK __attribute__((weak_import))
#else
#define EXITLEFT_DARWIN_WEAK __attribute__((weak))
#endif

extern "C" {
// <os/os_sync_wait_on_address.h>: the flags and the clock id are enums of uint32_t there.
EXITLEFT_DARWIN_WEAK int os_sync_wait_on_address(void* addr, std::uint64_t value, std::size_t size,
                                                 std::uint32_t flags);
EXITLEFT_DARWIN_WEAK int os_sync_wait_on_address_with_timeout(void* addr, std::uint64_t value,
                                                              std::size_t size, std::uint32_t flags,
                                                              std::uint32_t clockid,
                                                              std::uint64_t timeout_ns);
EXITLEFT_DARWIN_WEAK int os_sync_wake_by_address_any(void* addr, std::size_t size,
                                                     std::uint32_t flags);
EXITLEFT_DARWIN_WEAK int os_sync_wake_by_address_all(void* addr, std::size_t size,
                                                     std::uint32_t flags);
#if EXITLEFT_DARWIN_PRIVATE_ULOCK
int __ulock_wait(std::uint32_t operation, void* addr, std::uint64_t value,
                 std::uint32_t timeout_us);
EXITLEFT_DARWIN_WEAK int __ulock_wait2(std::uint32_t operation, void* addr, std::uint64_t value,
                                       std::uint64_t timeout_ns, std::uint64_t value2);
int __ulock_wake(std::uint32_t operation, void* addr, std::uint64_t wake_value);
#endif
}

namespace exitleft::platform {
namespace {

using darwin_ulock::Path;

// os_sync flags (os_sync_wait_on_address_flags_t, os_sync_wake_by_address_flags_t) and clock.
constexpr std::uint32_t kOsSyncNone = 0;     // OS_SYNC_WAIT_ON_ADDRESS_NONE, _WAKE_BY_ADDRESS_NONE
constexpr std::uint32_t kOsSyncShared = 1;   // OS_SYNC_WAIT_ON_ADDRESS_SHARED, _WAKE_..._SHARED
constexpr std::uint32_t kMachAbsolute = 32;  // OS_CLOCK_MACH_ABSOLUTE_TIME, the only clock id
constexpr std::size_t kWordSize = sizeof(Word);  // os_sync compares 4 or 8 bytes

#if EXITLEFT_DARWIN_PRIVATE_ULOCK
// ulock operation codes (bits 0-7) and flags, as in XNU's bsd/sys/ulock.h.
constexpr std::uint32_t kCompareAndWait = 1;        // UL_COMPARE_AND_WAIT: keyed by address
constexpr std::uint32_t kCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED: by VM object
constexpr std::uint32_t kWakeAll = 0x00000100;      // ULF_WAKE_ALL
constexpr std::uint32_t kNoErrno = 0x01000000;      // ULF_NO_ERRNO
#endif

bool os_sync_present() noexcept {
  // One libSystem has all four or none; checking each keeps a partial set from being called.
  return &os_sync_wait_on_address != nullptr && &os_sync_wait_on_address_with_timeout != nullptr &&
         &os_sync_wake_by_address_any != nullptr && &os_sync_wake_by_address_all != nullptr;
}

bool wait2_present() noexcept {
#if EXITLEFT_DARWIN_PRIVATE_ULOCK
  return &__ulock_wait2 != nullptr;
#else
  return false;
#endif
}

// relaxed: a statistic for tests, read after the choice was made (before main()).
std::atomic<int> g_times_chosen{0};

Path choose_path() noexcept {
  g_times_chosen.fetch_add(1, std::memory_order_relaxed);
  if (os_sync_present()) return Path::kOsSync;
#if EXITLEFT_DARWIN_PRIVATE_ULOCK
  return wait2_present() ? Path::kWait2 : Path::kLegacy;
#else
  return Path::kPortable;
#endif
}

// A function-local static rather than a namespace-scope constant: a static constructor of
// another file (the library's own, or a program's) may wait or wake before this file's
// constructors run, and must not find the choice unmade. The guard makes the first call choose,
// once, for the whole process.
Path chosen() noexcept {
  static const Path path = choose_path();
  return path;
}
// Chosen before main(), as the library loads: the first wait does not pay for it, and a fork()
// can never find the guard "in progress" (fork.hpp).
[[maybe_unused]] const Path g_eager_choice = chosen();

// The test override: -1, or a Path. relaxed: set while no thread waits (thread creation orders
// it for later ones).
std::atomic<int> g_forced_path{-1};

Path active() noexcept {
  const int forced = g_forced_path.load(std::memory_order_relaxed);  // relaxed: see above
  return forced < 0 ? chosen() : static_cast<Path>(forced);
}

// The kernel only reads the word (and never touches it in a wake), but takes a void*.
void* kernel_address(const Word* word) noexcept {
  return const_cast<Word*>(word);
}

// One kernel wait; `remaining_ns` 0 means no deadline. Returns >= 0 or -errno, and whether the
// timeout was capped short of the deadline.
int os_sync_wait(const Word& word, std::uint32_t expected, std::uint64_t remaining_ns, bool shared,
                 bool& capped) noexcept {
  const std::uint32_t flags = shared ? kOsSyncShared : kOsSyncNone;
  const int saved_errno = errno;
  int r = 0;
  if (remaining_ns == 0) {
    r = os_sync_wait_on_address(kernel_address(&word), expected, kWordSize, flags);
  } else {
    const darwin_ulock::KernelTimeout t = darwin_ulock::os_sync_timeout(remaining_ns);
    capped = t.capped;
    r = os_sync_wait_on_address_with_timeout(kernel_address(&word), expected, kWordSize, flags,
                                             kMachAbsolute, t.value);
  }
  if (r >= 0) return r;
  const int error = errno;
  errno = saved_errno;
  return -error;
}

#if EXITLEFT_DARWIN_PRIVATE_ULOCK
int ulock_wait(const Word& word, std::uint32_t expected, std::uint64_t remaining_ns, bool shared,
               bool wait2, bool& capped) noexcept {
  std::uint64_t timeout = 0;  // no timeout, for both calls
  if (remaining_ns != 0) {
    const darwin_ulock::KernelTimeout t = wait2 ? darwin_ulock::wait2_timeout(remaining_ns)
                                                : darwin_ulock::legacy_timeout(remaining_ns);
    timeout = t.value;
    capped = t.capped;
  }
  const std::uint32_t operation = (shared ? kCompareAndWaitShared : kCompareAndWait) | kNoErrno;
  return wait2 ? __ulock_wait2(operation, kernel_address(&word), expected, timeout, 0)
               : __ulock_wait(operation, kernel_address(&word), expected,
                              static_cast<std::uint32_t>(timeout));
}
#endif

int kernel_wait([[maybe_unused]] Path path, const Word& word, std::uint32_t expected,
                std::uint64_t remaining_ns, bool shared, bool& capped) noexcept {
#if EXITLEFT_DARWIN_PRIVATE_ULOCK
  if (path != Path::kOsSync) {
    return ulock_wait(word, expected, remaining_ns, shared, path == Path::kWait2, capped);
  }
#endif
  return os_sync_wait(word, expected, remaining_ns, shared, capped);
}

bool wait_on(const Word& word, std::uint32_t expected, Deadline deadline, bool shared) noexcept {
  const Path path = active();
#if !EXITLEFT_DARWIN_PRIVATE_ULOCK
  if (path == Path::kPortable) {
    return shared ? Portable::wait_shared(word, expected, deadline)
                  : Portable::wait(word, expected, deadline);
  }
#endif
  std::uint64_t remaining_ns = 0;  // no deadline
  if (deadline != kNoDeadline) {
    const Deadline now = Clock::now();
    if (deadline <= now) return false;
    // deadline > now, so the true difference is in (0, 2^64): exact in unsigned arithmetic
    // even where the signed subtraction could overflow.
    remaining_ns = static_cast<std::uint64_t>(deadline.time_since_epoch().count()) -
                   static_cast<std::uint64_t>(now.time_since_epoch().count());
  }
  bool capped = false;
  const int r = kernel_wait(path, word, expected, remaining_ns, shared, capped);
  if (r >= 0) return true;  // woken (r = waiters left), or the word already differed
  if (r == -ETIMEDOUT) {
    // A capped wait ended short of the deadline: a spurious wake-up. An uncapped one covered the
    // whole remainder (rounded up to whole µs for __ulock_wait), so the deadline has passed; the
    // clock check keeps "false only after the deadline" exact even if the kernel's timer and
    // steady_clock ever disagreed.
    return capped || Clock::now() < deadline;
  }
  // -EINTR (a signal) and -EFAULT (the page was not resident; the caller's re-read faults it
  // in) are spurious wake-ups. So is anything else (-ENOMEM under memory pressure): the caller
  // re-checks its own state and waits again.
  return true;
}

void wake_on(const Word* word, bool all, bool shared) noexcept {
  const Path path = active();
#if !EXITLEFT_DARWIN_PRIVATE_ULOCK
  if (path == Path::kPortable) {
    if (shared) {
      all ? Portable::wake_all_shared(word) : Portable::wake_one_shared(word);
    } else {
      all ? Portable::wake_all(word) : Portable::wake_one(word);
    }
    return;
  }
#endif
  // Each loop retries -EINTR: interrupted before it woke anyone, the wake must still happen.
  // Anything else is final: >= 0 done, -ENOENT nobody was waiting (a harmless hint).
#if EXITLEFT_DARWIN_PRIVATE_ULOCK
  if (path != Path::kOsSync) {
    const std::uint32_t operation =
        (shared ? kCompareAndWaitShared : kCompareAndWait) | (all ? kWakeAll : 0) | kNoErrno;
    while (__ulock_wake(operation, kernel_address(word), 0) == -EINTR) {
    }
    return;
  }
#endif
  const std::uint32_t flags = shared ? kOsSyncShared : kOsSyncNone;
  const int saved_errno = errno;
  for (;;) {
    const int r = all ? os_sync_wake_by_address_all(kernel_address(word), kWordSize, flags)
                      : os_sync_wake_by_address_any(kernel_address(word), kWordSize, flags);
    if (r >= 0 || errno != EINTR) break;
  }
  errno = saved_errno;
}

bool path_available(Path path) noexcept {
  switch (path) {
    case Path::kOsSync:
      return os_sync_present();
    case Path::kWait2:
      return wait2_present();
    case Path::kLegacy:
      return EXITLEFT_DARWIN_PRIVATE_ULOCK != 0;
    case Path::kPortable:
      return EXITLEFT_DARWIN_PRIVATE_ULOCK == 0;
  }
  return false;
}

}  // namespace

namespace darwin_ulock {

const char* path_name(Path path) noexcept {
  switch (path) {
    case Path::kOsSync:
      return "os_sync";
    case Path::kWait2:
      return "wait2";
    case Path::kLegacy:
      return "legacy";
    case Path::kPortable:
      return "portable";
  }
  return "?";
}

KernelTimeout legacy_timeout(std::uint64_t remaining_ns) noexcept {
  const std::uint64_t us = remaining_ns / 1000 + (remaining_ns % 1000 != 0 ? 1 : 0);
  if (us > kLegacyMaxTimeoutUs) return {kLegacyMaxTimeoutUs, true};
  return {us, false};
}

KernelTimeout wait2_timeout(std::uint64_t remaining_ns) noexcept {
  if (remaining_ns > kWait2MaxTimeoutNs) return {kWait2MaxTimeoutNs, true};
  return {remaining_ns, false};
}

KernelTimeout os_sync_timeout(std::uint64_t remaining_ns) noexcept {
  if (remaining_ns > kOsSyncMaxTimeoutNs) return {kOsSyncMaxTimeoutNs, true};
  return {remaining_ns, false};
}

bool private_calls_allowed() noexcept {
  return EXITLEFT_DARWIN_PRIVATE_ULOCK != 0;
}
bool has_os_sync() noexcept {
  return os_sync_present();
}
bool has_wait2() noexcept {
  return wait2_present();
}

Path chosen_path() noexcept {
  return chosen();
}
int times_chosen() noexcept {
  return g_times_chosen.load(std::memory_order_relaxed);  // relaxed: see its declaration
}
Path active_path() noexcept {
  return active();
}

bool force_path_for_testing(Path path) noexcept {
  if (!path_available(path)) return false;
  g_forced_path.store(static_cast<int>(path), std::memory_order_relaxed);  // relaxed: see above
  return true;
}
void stop_forcing_path_for_testing() noexcept {
  g_forced_path.store(-1, std::memory_order_relaxed);  // relaxed: see its declaration
}

}  // namespace darwin_ulock

bool DarwinUlock::wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return wait_on(word, expected, deadline, false);
}
void DarwinUlock::wake_one(const Word* word) noexcept {
  wake_on(word, false, false);
}
void DarwinUlock::wake_all(const Word* word) noexcept {
  wake_on(word, true, false);
}

bool DarwinUlock::wait_shared(const Word& word, std::uint32_t expected,
                              Deadline deadline) noexcept {
  return wait_on(word, expected, deadline, true);
}
void DarwinUlock::wake_one_shared(const Word* word) noexcept {
  wake_on(word, false, true);
}
void DarwinUlock::wake_all_shared(const Word* word) noexcept {
  wake_on(word, true, true);
}

}  // namespace exitleft::platform
