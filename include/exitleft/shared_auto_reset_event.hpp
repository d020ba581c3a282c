/// @file
/// exitleft::SharedAutoResetEvent — an auto-reset event that several processes can use through
/// shared memory (a MAP_SHARED mapping, a shm_open region).
///
/// It is one std::atomic<std::uint32_t> (4 bytes) and nothing else: no pointer, no per-process
/// state, a constexpr constructor and a trivial destructor. One process constructs it in the
/// shared memory (placement new); every process that maps the memory, at whatever address, may
/// then call any member. Threads of one process may use it as well, wherever it lives.
///
/// What it guarantees:
/// - set() releases at most one waiter. With nobody waiting the event stays set until one
///   wait() or try_wait() consumes it; further set() calls change nothing (a boolean, not a
///   counter). reset() unsets it and wakes nobody.
/// - No lost wake-up: a set() that happens after a thread began waiting either wakes a waiter
///   or leaves the signal for the next wait.
/// - No direct hand-off (weaker than AutoResetEvent's E3): set() makes the event set and wakes
///   one sleeping waiter, which then has to take the signal. A thread that calls wait() or
///   try_wait() at that moment may take it first; the woken waiter then waits again. Which
///   sleeper is woken is the kernel's choice (not FIFO across processes).
/// - wait_for / wait_until return true when signalled, false on timeout (docs/guarantees.md,
/// "Time": a zero or
///   negative timeout never blocks but still consumes a pending signal; duration::max() and
///   time_point::max() wait forever; any clock works).
/// - Uncontended set() and try_wait() are one atomic RMW: no system call. set() calls the kernel
///   only while waiters are counted in the word.
/// - A process that dies while waiting (SIGKILL included) does not break the event for the
///   others: a waiter holds nothing that anyone waits for; it only leaves its count in the
///   word, after which each set() makes one needless wake-up system call. The one narrow window:
///   a waiter killed after set() woke it and before it took the signal (or a setter killed
///   between its update of the word and its wake-up call) leaves the event set while other
///   waiters sleep. The signal is not lost: the next wait() or try_wait() takes it, and the next
///   set() wakes another sleeper (set() wakes whenever waiters are counted, set or not).
/// - No pulse(): an auto-reset pulse must release one thread that is waiting at that moment and
///   leave the event unset. Across processes the kernel picks the sleeper to wake and a wake-up
///   carries no token, so the woken waiter cannot tell a pulse meant for it from a stale wake-up
///   without a hand-off that the dead-waiter rule above forbids (it would hold what others wait
///   for).
///
/// How each backend serves it (a futex or ulock shared by the processes on Linux and macOS;
/// polling with a back-off of about 1 ms on Windows and the portable backend): see
/// docs/guarantees.md, "Process-shared events".
///
/// Waiters spin briefly before they sleep (on a machine with more than one CPU), so a hand-off
/// between two running processes usually needs no system call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <type_traits>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/event_state.hpp"
#include "exitleft/export.hpp"

namespace exitleft {

/// An auto-reset event in 4 bytes of memory shared between processes: each set() releases at
/// most one waiter (see the file comment for the guarantees and what each backend does).
class SharedAutoResetEvent {
 public:
  /// The word's layout: bit 0 is the signal; bits 1-15 count the waiters that may be asleep
  /// (saturating: once it reaches kWaiterMask it stays there and every set() wakes one).
  static constexpr std::uint32_t kSet = 1;              ///< the event is set
  static constexpr std::uint32_t kWaiter = 2;           ///< one waiter in the count
  static constexpr std::uint32_t kWaiterMask = 0xFFFE;  ///< the waiter count's bits

  /// Creates the event unset (or set). constexpr: it may be constant-initialised.
  constexpr explicit SharedAutoResetEvent(EventState initial = EventState::Unset) noexcept
      : word_(initial == EventState::Set ? kSet : 0) {}
  SharedAutoResetEvent(const SharedAutoResetEvent&) = delete;
  SharedAutoResetEvent& operator=(const SharedAutoResetEvent&) = delete;

  /// Sets the event and, if waiters are counted, wakes one of them; with nobody waiting the
  /// event stays set until one wait consumes it.
  void set() noexcept {
    // release: pairs with the acquire in try_wait() / wait_slow() of the thread that takes it.
    // One RMW sets the signal and reads the waiter count. A waiter's counting CAS (wait_slow())
    // is either before it in the word's modification order, and then this set() wakes, or after
    // it, and then that CAS fails on the signal and the waiter takes it instead of sleeping.
    const std::uint32_t old = word_.fetch_or(kSet, std::memory_order_release);
    if (old & kWaiterMask) wake_slow();
  }
  /// Unsets the event; wakes nobody.
  void reset() noexcept {
    // relaxed (both): unsetting publishes nothing; the load only skips a needless RMW.
    if (word_.load(std::memory_order_relaxed) & kSet) {
      word_.fetch_and(~kSet, std::memory_order_relaxed);
    }
  }

  /// Consumes the signal if the event is set; never blocks.
  /// @return true if the signal was taken.
  bool try_wait() noexcept {
    // relaxed: only a look, to skip the RMW (and its cache-line transfer) when unset.
    if (!(word_.load(std::memory_order_relaxed) & kSet)) return false;
    // acquire: pairs with the release in set().
    return (word_.fetch_and(~kSet, std::memory_order_acquire) & kSet) != 0;
  }
  /// Waits until signalled and consumes the signal.
  void wait() noexcept {
    if (!try_wait()) wait_slow(detail::kNoDeadline);
  }
  /// Waits at most `timeout` (zero or negative: never blocks, still takes a pending signal).
  /// @return true if signalled, false on timeout.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return try_wait() || wait_slow(detail::deadline_after(timeout));
  }
  /// Waits until `when` on its own clock (time_point::max(): forever).
  /// @return true if signalled, false on timeout.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return try_wait() || detail::wait_until_time_point(
                             when, [this](detail::SteadyTime d) { return wait_slow(d); });
  }

  /// A snapshot: is the event set right now?
  bool is_set() const noexcept {
    // acquire: pairs with the release in set().
    return (word_.load(std::memory_order_acquire) & kSet) != 0;
  }

 private:
  // Out of line, in src/primitives/shared_event.cpp: the waiting loop and the wake-up system call.
  EXITLEFT_EXPORT bool wait_slow(detail::SteadyTime deadline) noexcept;
  EXITLEFT_EXPORT void wake_slow() noexcept;

  std::atomic<std::uint32_t> word_;
};

static_assert(sizeof(SharedAutoResetEvent) == 4);
static_assert(std::is_standard_layout_v<SharedAutoResetEvent>);
static_assert(std::is_trivially_destructible_v<SharedAutoResetEvent>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "a process-shared word must be lock-free (and so address-free)");

}  // namespace exitleft
