// exitleft platform layer: wait-on-address over a 32-bit word.
//
// Every backend offers the same three operations:
//
//   wait(word, expected, deadline)  blocks while `word == expected`, until woken or until the
//                                   absolute steady-clock `deadline` passes. It returns at once if
//                                   the word already differs. It may return spuriously: callers
//                                   always re-check their own state and loop. It returns false
//                                   only when the deadline has passed; `kNoDeadline`
//                                   (detail/deadline.hpp) never passes.
//   wake_one(word)                  wakes at least one thread waiting on `word` (if any).
//   wake_all(word)                  wakes every thread waiting on `word`.
//
// Wakes are hints. A wake may be issued on memory that its owner has since released (the
// parking lot releases a thread and then wakes it; the thread may already be gone): no backend
// ever dereferences the address in wake_one / wake_all.
//
// The same three exist for a word that several processes map (wait_shared, wake_one_shared,
// wake_all_shared; SharedAutoResetEvent and SharedManualResetEvent use them), with the same
// contract. Only some kernels can wait on a word across processes:
//   linux     futex without FUTEX_PRIVATE_FLAG: keyed by the backing page, so a wake from any
//             process that maps the word reaches every waiter, at whatever address each maps it.
//   darwin    OS_SYNC_WAIT_ON_ADDRESS_SHARED (14.4+) or UL_COMPARE_AND_WAIT_SHARED: keyed by the
//             VM object, likewise. (A build without the private calls, before 14.4: as portable.)
//   windows   WaitOnAddress only sees wakes from its own process, and
//   portable  the buckets (a mutex and a condition variable) live in one process; so both poll:
//             wait_shared re-reads the word after pauses that grow up to about 1 ms (portable:
//             condition-variable waits of 20 µs doubling to 1 ms; windows: a few yields, then
//             1 ms WaitOnAddress timeouts), while a wake_*_shared from the waiter's own process
//             still ends a pause at once. A change made by another process is seen within about
//             a millisecond (Windows: within one tick of the system timer, 15.6 ms unless a
//             program raised the timer's resolution); no wake-up is lost, waiting only costs
//             those re-reads.
//
// This folder is the only place in exitleft that knows about operating systems. The backend is
// chosen at configure time (EXITLEFT_BACKEND=auto|linux|windows|darwin|portable), which defines
// exactly one EXITLEFT_BACKEND_<NAME> macro for the library's sources. Several backends can be
// linked into one test program (each lives in its own struct), so tests run the same cases
// against every backend the build machine can run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "exitleft/detail/deadline.hpp"
#include "platform/fork.hpp"

namespace exitleft::platform {

using Clock = exitleft::detail::SteadyClock;
using Deadline = exitleft::detail::SteadyTime;
using exitleft::detail::kNoDeadline;

using Word = std::atomic<std::uint32_t>;
static_assert(sizeof(Word) == 4 && Word::is_always_lock_free);

// What every backend declares: the operations of the contract at the top of this file, once for
// words of this process and once for words several processes map.
#define EXITLEFT_WORD_WAIT_OPERATIONS                                                     \
  static bool wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept; \
  static void wake_one(const Word* word) noexcept;                                        \
  static void wake_all(const Word* word) noexcept;
#define EXITLEFT_WORD_WAIT_SHARED_OPERATIONS                                                     \
  static bool wait_shared(const Word& word, std::uint32_t expected, Deadline deadline) noexcept; \
  static void wake_one_shared(const Word* word) noexcept;                                        \
  static void wake_all_shared(const Word* word) noexcept;

// Linux: futex(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG) with an absolute CLOCK_MONOTONIC deadline.
struct LinuxFutex {
  EXITLEFT_WORD_WAIT_OPERATIONS
  // Process-shared variants: the same word may be mapped by several processes.
  EXITLEFT_WORD_WAIT_SHARED_OPERATIONS
  // Waits on two words at once (futex_waitv, Linux 5.16+): returns at once if `a` no longer holds
  // `expected_a` or `b` no longer holds `expected_b`, otherwise sleeps until a wake_* on either
  // word, a spurious wake-up, or the deadline; false only for the deadline. Use it only when
  // has_wait_either() is true (the kernel has futex_waitv and no seccomp filter refuses it).
  static bool wait_either(const Word& a, std::uint32_t expected_a, const Word& b,
                          std::uint32_t expected_b, Deadline deadline) noexcept;
  static bool has_wait_either() noexcept;
};

// Windows 8+: WaitOnAddress / WakeByAddressSingle / WakeByAddressAll. Millisecond timeouts are
// rounded up and re-armed until the deadline.
struct WindowsWaitOnAddress {
  EXITLEFT_WORD_WAIT_OPERATIONS
  // Process-shared variants: polling (see the top of this file); the wakes reach only waiters of
  // this process, which they wake at once.
  EXITLEFT_WORD_WAIT_SHARED_OPERATIONS
};

// macOS, the calls chosen once at load: the public os_sync_wait_on_address family (14.4+), else
// __ulock_wait2 (ns timeouts, 11+), else __ulock_wait (µs timeouts in a u32: long timeouts are
// capped, and a capped wait that ends is a spurious wake, never a timeout). Built with
// EXITLEFT_DARWIN_PRIVATE_ULOCK=OFF, the __ulock calls are never referenced and systems before
// 14.4 use the portable buckets (ulock_darwin.cpp).
struct DarwinUlock {
  EXITLEFT_WORD_WAIT_OPERATIONS
  EXITLEFT_WORD_WAIT_SHARED_OPERATIONS
};

// Any OS: hashed buckets of std::mutex + std::condition_variable.
struct Portable {
  EXITLEFT_WORD_WAIT_OPERATIONS
  // Process-shared variants: polling (see the top of this file); the wakes reach only waiters of
  // this process, which they wake at once.
  EXITLEFT_WORD_WAIT_SHARED_OPERATIONS
  // Reinitialises the buckets in a child process after fork(): another thread of the parent may
  // have held one of their mutexes at the moment of the fork.
  static void reset_after_fork() noexcept;
};

#if defined(EXITLEFT_BACKEND_LINUX)
using Backend = LinuxFutex;
#elif defined(EXITLEFT_BACKEND_WINDOWS)
using Backend = WindowsWaitOnAddress;
#elif defined(EXITLEFT_BACKEND_DARWIN)
using Backend = DarwinUlock;
#elif defined(EXITLEFT_BACKEND_PORTABLE)
using Backend = Portable;
#else
#error "no wait-on-address backend selected: configure with EXITLEFT_BACKEND"
#endif

inline bool wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return Backend::wait(word, expected, deadline);
}
inline void wake_one(const Word* word) noexcept {
  Backend::wake_one(word);
}
inline void wake_all(const Word* word) noexcept {
  Backend::wake_all(word);
}

// Waiting on two words at once, where the selected backend can (Linux: futex_waitv). The
// parking lot uses it to wake many parked threads with one system call (src/lot/lot.hpp,
// "group wake-ups"). Elsewhere has_wait_either() is false and wait_either() must not be called.
#if defined(EXITLEFT_BACKEND_LINUX)
inline bool has_wait_either() noexcept {
  return LinuxFutex::has_wait_either();
}
inline bool wait_either(const Word& a, std::uint32_t expected_a, const Word& b,
                        std::uint32_t expected_b, Deadline deadline) noexcept {
  return LinuxFutex::wait_either(a, expected_a, b, expected_b, deadline);
}
#else
inline bool has_wait_either() noexcept {
  return false;
}
inline bool wait_either(const Word& a, std::uint32_t expected_a, const Word&, std::uint32_t,
                        Deadline deadline) noexcept {
  return Backend::wait(a, expected_a, deadline);  // never reached: has_wait_either() is false
}
#endif

// The process-shared trio of the selected backend (see the top of this file for what each
// backend does across processes).
inline bool wait_shared(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return Backend::wait_shared(word, expected, deadline);
}
inline void wake_one_shared(const Word* word) noexcept {
  Backend::wake_one_shared(word);
}
inline void wake_all_shared(const Word* word) noexcept {
  Backend::wake_all_shared(word);
}

// The CPU the calling thread runs on at this moment, or -1 where the OS cannot say it cheaply
// (Linux: sched_getcpu, from the rseq area with glibc 2.35+; Windows: GetCurrentProcessorNumber;
// elsewhere -1). A hint only, stale as soon as it is read: the parking lot uses it to notice
// hand-offs between threads that share a CPU, where spinning cannot help (src/lot/lot.hpp).
// platform/cpu.cpp, in every backend.
int current_cpu() noexcept;

// The name of the selected backend ("linux", "windows", "darwin", "portable").
constexpr const char* backend_name() noexcept {
#if defined(EXITLEFT_BACKEND_LINUX)
  return "linux";
#elif defined(EXITLEFT_BACKEND_WINDOWS)
  return "windows";
#elif defined(EXITLEFT_BACKEND_DARWIN)
  return "darwin";
#else
  return "portable";
#endif
}

}  // namespace exitleft::platform
