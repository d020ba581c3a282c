// macOS backend: the kernel's ulock calls (libc++ builds std::atomic::wait on the same ones).
//
// __ulock_wait2 (macOS 11+) takes a timeout in nanoseconds; on older systems only __ulock_wait
// exists, whose timeout is a u32 of microseconds (at most ~71.6 minutes). Both read a timeout
// of 0 as "no timeout", and both take a relative timeout, so each wait is computed afresh from
// the absolute steady-clock deadline: a spurious wake-up simply waits again and never drifts.
// A timeout longer than one call can carry is capped; when such a capped wait reports
// ETIMEDOUT the deadline has not passed, so the wait returns true (a spurious wake-up) and the
// caller's loop re-arms it. Microseconds are rounded up, so that no wait ends before its
// deadline, and a remainder below one microsecond becomes 1 µs, never the 0 that means forever.
//
// Every call passes ULF_NO_ERRNO, so results are negative errno values and errno is untouched.
// Wait: >= 0 woken, or the word no longer held `expected` (the kernel then returns at once with
// no error); -EINTR a signal; -EFAULT the kernel could not read the word without faulting it in
// (it reads under a spinlock); -ETIMEDOUT the timeout expired. Wake: -ENOENT nobody waits.
//
// macOS ships no header for these calls (XNU's bsd/sys/ulock.h is private), so they are
// declared here. __ulock_wait2 is a weak import: on a system without it, its address is null.
// On Linux this file is compiled against tests/darwin_shim, which implements the three calls
// with futex, and __ulock_wait2 is a weak symbol that the shim may or may not provide.
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "platform/ulock_darwin_testing.hpp"
#include "platform/word_wait.hpp"

#if defined(__APPLE__)
#define EXITLEFT_ULOCK_WEAK __attribute__((weak_import))
#else
#define EXITLEFT_ULOCK_WEAK __attribute__((weak))
#endif

extern "C" {
int __ulock_wait(std::uint32_t operation, void* addr, std::uint64_t value,
                 std::uint32_t timeout_us);
EXITLEFT_ULOCK_WEAK int __ulock_wait2(std::uint32_t operation, void* addr, std::uint64_t value,
                                      std::uint64_t timeout_ns, std::uint64_t value2);
int __ulock_wake(std::uint32_t operation, void* addr, std::uint64_t wake_value);
}

namespace exitleft::platform {
namespace {

// Operation codes (bits 0-7) and flags, as in XNU's bsd/sys/ulock.h.
constexpr std::uint32_t kCompareAndWait = 1;        // UL_COMPARE_AND_WAIT: keyed by address
constexpr std::uint32_t kCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED: by VM object
constexpr std::uint32_t kWakeAll = 0x00000100;      // ULF_WAKE_ALL
constexpr std::uint32_t kNoErrno = 0x01000000;      // ULF_NO_ERRNO

// relaxed: a test switch, set while no thread waits (thread creation orders it for later ones).
std::atomic<bool> g_force_legacy{false};

// The kernel only reads the word (and never touches it in a wake), but takes a void*.
void* kernel_address(const Word* word) noexcept {
  return const_cast<Word*>(word);
}

bool ulock_wait(const Word& word, std::uint32_t expected, Deadline deadline,
                std::uint32_t opcode) noexcept {
  const bool wait2 = darwin_ulock::uses_wait2();
  std::uint64_t timeout = 0;  // no timeout, for both calls
  bool capped = false;
  if (deadline != kNoDeadline) {
    const Deadline now = Clock::now();
    if (deadline <= now) return false;
    // deadline > now, so the true difference is in (0, 2^64): exact in unsigned arithmetic
    // even where the signed subtraction could overflow.
    const std::uint64_t remaining_ns =
        static_cast<std::uint64_t>(deadline.time_since_epoch().count()) -
        static_cast<std::uint64_t>(now.time_since_epoch().count());
    const darwin_ulock::UlockTimeout t = wait2 ? darwin_ulock::wait2_timeout(remaining_ns)
                                               : darwin_ulock::legacy_timeout(remaining_ns);
    timeout = t.value;
    capped = t.capped;
  }
  const std::uint32_t operation = opcode | kNoErrno;
  const int r = wait2 ? __ulock_wait2(operation, kernel_address(&word), expected, timeout, 0)
                      : __ulock_wait(operation, kernel_address(&word), expected,
                                     static_cast<std::uint32_t>(timeout));
  if (r >= 0) return true;  // woken (r = waiters left), or the word already differed
  if (r == -ETIMEDOUT) {
    // A capped wait ended short of the deadline: a spurious wake-up. An uncapped one was rounded
    // up, so the deadline has passed; the clock check keeps "false only after the deadline"
    // exact even if the kernel's timer and steady_clock ever disagreed.
    return capped || Clock::now() < deadline;
  }
  // -EINTR (a signal) and -EFAULT (the page was not resident; the caller's re-read faults it
  // in) are spurious wake-ups. So is anything else (-ENOMEM under memory pressure): the caller
  // re-checks its own state and waits again.
  return true;
}

void ulock_wake(const Word* word, std::uint32_t opcode, std::uint32_t flags) noexcept {
  for (;;) {
    const int r = __ulock_wake(opcode | flags | kNoErrno, kernel_address(word), 0);
    // -EINTR: interrupted before it woke anyone; the wake must still happen. Anything else is
    // final: >= 0 done, -ENOENT nobody was waiting (a harmless hint).
    if (r != -EINTR) return;
  }
}

}  // namespace

namespace darwin_ulock {

UlockTimeout legacy_timeout(std::uint64_t remaining_ns) noexcept {
  const std::uint64_t us = remaining_ns / 1000 + (remaining_ns % 1000 != 0 ? 1 : 0);
  if (us > kLegacyMaxTimeoutUs) return {kLegacyMaxTimeoutUs, true};
  return {us, false};
}

UlockTimeout wait2_timeout(std::uint64_t remaining_ns) noexcept {
  if (remaining_ns > kWait2MaxTimeoutNs) return {kWait2MaxTimeoutNs, true};
  return {remaining_ns, false};
}

bool has_wait2() noexcept {
  return &__ulock_wait2 != nullptr;
}

bool uses_wait2() noexcept {
  return has_wait2() && !g_force_legacy.load(std::memory_order_relaxed);  // relaxed: see above
}

void force_legacy_for_testing(bool force) noexcept {
  g_force_legacy.store(force, std::memory_order_relaxed);  // relaxed: see its declaration
}

}  // namespace darwin_ulock

bool DarwinUlock::wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return ulock_wait(word, expected, deadline, kCompareAndWait);
}
void DarwinUlock::wake_one(const Word* word) noexcept {
  ulock_wake(word, kCompareAndWait, 0);
}
void DarwinUlock::wake_all(const Word* word) noexcept {
  ulock_wake(word, kCompareAndWait, kWakeAll);
}

bool DarwinUlock::wait_shared(const Word& word, std::uint32_t expected,
                              Deadline deadline) noexcept {
  return ulock_wait(word, expected, deadline, kCompareAndWaitShared);
}
void DarwinUlock::wake_one_shared(const Word* word) noexcept {
  ulock_wake(word, kCompareAndWaitShared, 0);
}
void DarwinUlock::wake_all_shared(const Word* word) noexcept {
  ulock_wake(word, kCompareAndWaitShared, kWakeAll);
}

}  // namespace exitleft::platform
