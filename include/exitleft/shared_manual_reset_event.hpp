/// @file
/// exitleft::SharedManualResetEvent — a manual-reset event that several processes can use
/// through shared memory (a MAP_SHARED mapping, a shm_open region).
///
/// It is one std::atomic<std::uint32_t> (4 bytes) and nothing else: no pointer, no per-process
/// state, a constexpr constructor and a trivial destructor. One process constructs it in the
/// shared memory (placement new); every process that maps the memory, at whatever address, may
/// then call any member. Threads of one process may use it as well, wherever it lives.
///
/// What it guarantees:
/// - set() sets the event and wakes every waiter; it stays set, and every wait returns true at
///   once, until reset(). Once set() has returned, is_set() is true until someone calls reset().
/// - No lost wake-up: every thread that is waiting when set() is called returns true, even if
///   the event is reset again before that thread runs. (The word carries a 16-bit count of sets;
///   a waiter that stays off the CPU while exactly a multiple of 65,536 sets and pulses go by
///   cannot tell, and waits on.) A thread is waiting from its first look at the word inside
///   wait(), wait_for() or wait_until(), spinning or asleep.
/// - A waiter that times out never undoes a concurrent set(): leaving only lowers the count of
///   waiters, never touches the signal.
/// - pulse() wakes every thread waiting at that moment (their waits return true) and leaves the
///   event unset; with nobody waiting it only unsets it. reset() unsets and wakes nobody.
/// - wait_for / wait_until return true when set, false on timeout; try_wait() == is_set().
///   docs/guarantees.md, "Time": a zero or negative timeout never blocks; duration::max() and
///   time_point::max() wait forever; any clock works.
/// - Uncontended set() and try_wait() are one atomic operation: no system call. set() calls the
///   kernel only while waiters are counted in the word.
/// - A process that dies while waiting (SIGKILL included) does not break the event for the
///   others: a waiter holds nothing that anyone waits for; it only leaves its count in the word,
///   after which each set() and pulse() makes one needless wake-up system call. A setter killed
///   between its update of the word and its wake-up call leaves sleepers asleep with the event
///   set; the next set() wakes them (set() wakes whenever waiters are counted, set or not).
///
/// How each backend serves it (a futex or ulock shared by the processes on Linux and macOS;
/// polling with a back-off of about 1 ms on Windows and the portable backend): see
/// docs/guarantees.md, "Process-shared events".
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <type_traits>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/event_state.hpp"
#include "exitleft/export.hpp"

namespace exitleft {

/// A manual-reset event in 4 bytes of memory shared between processes: set() releases every
/// waiter and the event stays set until reset() (see the file comment for the guarantees).
class SharedManualResetEvent {
 public:
  /// The word's layout: bit 0 is the signal; bits 1-15 count the waiters that may be asleep
  /// (saturating: once it reaches kWaiterMask it stays there and every set() wakes all); bits
  /// 16-31 count the sets and pulses (wrapping), so that a waiter sees that one happened even if
  /// the event was reset before it looked.
  static constexpr std::uint32_t kSet = 1;               ///< the event is set
  static constexpr std::uint32_t kWaiter = 2;            ///< one waiter in the count
  static constexpr std::uint32_t kWaiterMask = 0xFFFE;   ///< the waiter count's bits
  static constexpr std::uint32_t kGeneration = 0x10000;  ///< one set or pulse in the count

  /// Creates the event unset (or set). constexpr: it may be constant-initialised.
  constexpr explicit SharedManualResetEvent(EventState initial = EventState::Unset) noexcept
      : word_(initial == EventState::Set ? kSet : 0) {}
  SharedManualResetEvent(const SharedManualResetEvent&) = delete;
  SharedManualResetEvent& operator=(const SharedManualResetEvent&) = delete;

  /// Sets the event and wakes every waiter; it stays set until reset().
  void set() noexcept {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    // release: pairs with the acquire in is_set() / wait_slow(). The CAS reads the waiter count
    // and sets the signal in one step, ordered against each waiter's counting CAS (see
    // SharedAutoResetEvent::set()). A set that finds the event unset counts a generation.
    while (!word_.compare_exchange_weak(s, (s | kSet) + ((s & kSet) ? 0 : kGeneration),
                                        std::memory_order_release, std::memory_order_relaxed)) {
    }
    if (s & kWaiterMask) wake_slow();
  }
  /// Unsets the event; wakes nobody.
  void reset() noexcept {
    // relaxed (both): unsetting publishes nothing; the load only skips a needless RMW.
    if (word_.load(std::memory_order_relaxed) & kSet) {
      word_.fetch_and(~kSet, std::memory_order_relaxed);
    }
  }
  /// Wakes every thread waiting right now (their waits return true) and leaves the event unset.
  void pulse() noexcept {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    // release: pairs with the acquire in wait_slow() of the waiters it releases, which see the
    // generation change.
    while (!word_.compare_exchange_weak(s, (s & ~kSet) + kGeneration, std::memory_order_release,
                                        std::memory_order_relaxed)) {
    }
    if (s & kWaiterMask) wake_slow();
  }

  /// Waits until the event is set (observes it; never consumes).
  void wait() noexcept {
    const std::uint32_t first = look();
    if (!(first & kSet)) wait_slow(first, detail::kNoDeadline);
  }
  /// Same as is_set(): never blocks.
  bool try_wait() noexcept { return is_set(); }
  /// Waits at most `timeout` (zero or negative: never blocks).
  /// @return true if set, false on timeout.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    const std::uint32_t first = look();
    return (first & kSet) || wait_slow(first, detail::deadline_after(timeout));
  }
  /// Waits until `when` on its own clock (time_point::max(): forever).
  /// @return true if set, false on timeout.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    const std::uint32_t first = look();
    return (first & kSet) ||
           detail::wait_until_time_point(
               when, [this, first](detail::SteadyTime d) { return wait_slow(first, d); });
  }

  /// A snapshot: is the event set right now?
  bool is_set() const noexcept { return (look() & kSet) != 0; }

 private:
  std::uint32_t look() const noexcept {
    // acquire: pairs with the release in set().
    return word_.load(std::memory_order_acquire);
  }

  // Out of line, in src/primitives/shared_event.cpp: the waiting loop and the wake-up system call.
  // `first` is the word as the wait first saw it: a set or pulse after it releases the wait.
  EXITLEFT_EXPORT bool wait_slow(std::uint32_t first, detail::SteadyTime deadline) noexcept;
  EXITLEFT_EXPORT void wake_slow() noexcept;

  std::atomic<std::uint32_t> word_;
};

static_assert(sizeof(SharedManualResetEvent) == 4);
static_assert(std::is_standard_layout_v<SharedManualResetEvent>);
static_assert(std::is_trivially_destructible_v<SharedManualResetEvent>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "a process-shared word must be lock-free (and so address-free)");

}  // namespace exitleft
