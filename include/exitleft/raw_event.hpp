/// @file
/// exitleft::RawEvent — the one-byte event both AutoResetEvent and ManualResetEvent are built on.
///
/// What it guarantees:
/// - The state is one atomic byte: an AVAILABLE bit (the event is set), a PARKED bit (some
///   thread may be parked on the event's address in the parking lot) and a MULTI bit (a
///   wait_any / wait_all is registered on it: its operations then go through the multi-wait
///   engine, see detail/multi_wait.hpp).
/// - set_one() hands the signal directly to the first parked waiter (FIFO): that waiter's
///   wait_one() returns true and no thread arriving later can steal the signal. With nobody
///   parked it leaves the event set, once (a boolean: extra sets saturate).
/// - set_all() sets the event and wakes every parked waiter; waits that observe (wait_all*)
///   return true and the event stays set until reset(). With waiters parked, the set and the
///   wake-up are one step under the lot's bucket lock: a thread that starts waiting after a
///   reset() that followed the set is never woken by it.
/// - pulse_one() / pulse_all() wake the waiters parked at that moment (one / all) and leave the
///   event unset; with nobody parked they only unset it. reset() unsets and wakes nobody.
/// - wait_one*() consumes the signal; wait_all*() observes it. A waiter that times out never
///   undoes a concurrent set: it only clears PARKED, under the lot's bucket lock, when it was the
///   last thread parked.
/// - An uncontended set_one(), set_all(), try_wait_one() or is_set() is one atomic operation: no
///   call into the parking lot, no system call. Waiters spin briefly (SpinWait: bounded, off on a
///   single CPU) before they park.
/// - Timeouts follow docs/guarantees.md, "Time" (detail/deadline.hpp): zero never blocks but
/// consumes a pending
///   signal; duration::max() and time_point::max() mean forever; any clock is accepted.
///
/// Use one family per event: set_one/pulse_one/wait_one (auto-reset) or set_all/pulse_all/
/// wait_all (manual-reset). Mixing them is safe (no lost wake-up) but mixes the semantics.
/// "all" here means all waiters of this one event: RawEvent::wait_all() waits for this event
/// to be set, and has nothing to do with exitleft::wait_all() (wait.hpp), which waits for
/// several objects at once. (The names are the contract's; most code uses AutoResetEvent and
/// ManualResetEvent, whose set() / wait() pick the family.)
#pragma once

#include <chrono>
#include <cstdint>

#include "exitleft/detail/async_step.hpp"
#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/lot/wake_tokens.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft {
namespace detail {

/// The state machine of RawEvent, written against a sync policy (the members are RawEvent's
/// API).
//
// The state machine, written against a sync policy (std_sync.hpp) so that the Relacy models in
// tests/model/ check the same code. `Spin` = false parks at once (benchmarks use it to compare
// with a raw futex). The slow paths are defined in src/primitives/raw_event_impl.hpp and compiled
// into the library for StdSync.
template <class Sync, bool Spin = true>
class BasicRawEvent {
 public:
  static constexpr std::uint8_t kAvailable = 1;  ///< state bit: the event is set
  static constexpr std::uint8_t kParked = 2;     ///< state bit: a thread may be parked on it
  static constexpr std::uint8_t kMulti = 4;      ///< state bit: a multi-object wait is registered

  /// Creates the event unset (or set).
  constexpr explicit BasicRawEvent(bool set = false) noexcept : state_(set ? kAvailable : 0) {}
  BasicRawEvent(const BasicRawEvent&) = delete;
  BasicRawEvent& operator=(const BasicRawEvent&) = delete;

  /// Auto-reset set: hands the signal to the first parked waiter, or leaves the event set.
  void set_one() noexcept {
    std::uint8_t expected = 0;
    if (!try_set(expected)) set_one_slow(expected);
  }

  /// Manual-reset set: sets the event and wakes every parked waiter.
  void set_all() noexcept {
    std::uint8_t expected = 0;
    if (!try_set(expected)) set_all_slow(expected);
  }

  /// Unsets the event; wakes nobody.
  void reset() noexcept {
    std::uint8_t s = state_.load(std::memory_order_relaxed);
    while (s & kAvailable) {
      if (s & kMulti) {
        if (reset_multi()) return;
        // MULTI went away before the engine looked: reset lock-free
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      // relaxed: unsetting publishes nothing.
      if (state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s & ~kAvailable),
                                       std::memory_order_relaxed)) {
        return;
      }
    }
  }

  /// Wakes the first waiter parked now (it gets the signal), then leaves the event unset.
  void pulse_one() noexcept { pulse(true); }
  /// Wakes every waiter parked now (their waits return true), then leaves the event unset.
  void pulse_all() noexcept { pulse(false); }

  /// Consumes the signal if the event is set; never blocks. @return true if it was taken.
  bool try_wait_one() noexcept {
    std::uint8_t expected = kAvailable;
    // acquire: pairs with the release in set_one() / set_one_slow() / set_all().
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return true;
    }
    return (expected & kAvailable) != 0 && consume(expected);
  }
  /// Waits until signalled and consumes the signal.
  void wait_one() noexcept {
    if (!try_wait_one()) wait_one_slow(kNoDeadline);
  }
  /// wait_one() for at most `timeout`. @return true if signalled, false on timeout.
  template <class Rep, class Period>
  bool wait_one_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return try_wait_one() || wait_one_slow(deadline_after(timeout));
  }
  /// wait_one() until `when` on its own clock. @return true if signalled, false on timeout.
  template <class Clock, class Duration>
  bool wait_one_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return try_wait_one() ||
           wait_until_time_point(when, [this](SteadyTime d) { return wait_one_slow(d); });
  }

  /// A snapshot: is the event set right now?
  bool is_set() const noexcept {
    // acquire: pairs with the release in set_one() / set_all().
    return (state_.load(std::memory_order_acquire) & kAvailable) != 0;
  }
  /// Waits until the event is set (observes it; never consumes).
  void wait_all() noexcept {
    if (!is_set()) wait_all_slow(kNoDeadline);
  }
  /// wait_all() for at most `timeout`. @return true if set, false on timeout.
  template <class Rep, class Period>
  bool wait_all_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return is_set() || wait_all_slow(deadline_after(timeout));
  }
  /// wait_all() until `when` on its own clock. @return true if set, false on timeout.
  template <class Clock, class Duration>
  bool wait_all_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return is_set() ||
           wait_until_time_point(when, [this](SteadyTime d) { return wait_all_slow(d); });
  }

 private:
  void pulse(bool one) noexcept {
    // The RMW reads the latest state, so a waiter that announced itself (set PARKED) before this
    // pulse is seen. relaxed: the lot's bucket lock orders the rest.
    std::uint8_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s & kMulti) {
        if (pulse_multi(one)) return;
        // MULTI went away before the engine looked: pulse lock-free
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      if (state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s & ~kAvailable),
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    if (s & kParked) one ? pulse_one_slow() : pulse_all_slow();
  }

  // The fast path of set_one() and set_all(): unset and nobody parked → set.
  bool try_set(std::uint8_t& expected) noexcept {
    // release: pairs with the acquire in try_wait_one() / consume() / is_set().
    return state_.compare_exchange_strong(expected, kAvailable, std::memory_order_release,
                                          std::memory_order_relaxed);
  }

  // What the multi-wait engine needs (detail/multi_wait.hpp): `observed` says whether it waits
  // as on a manual-reset event (observing) or an auto-reset one (consuming).
  template <class, class>
  friend struct WaitOpsFor;
  friend struct WaitAccess;
  using Word = std::uint8_t;
  static constexpr bool signalled(Word s) noexcept { return (s & kAvailable) != 0; }
  static constexpr Word consumed(Word s) noexcept { return static_cast<Word>(s & ~kAvailable); }
  bool try_take() noexcept { return try_wait_one(); }
  WaitTarget<Sync> wait_target(bool observed) noexcept {
    return WaitOpsFor<Sync, BasicRawEvent>::target(*this, state_, observed);
  }

  // The slow paths, defined in src/primitives/raw_event_impl.hpp. A steady deadline; kNoDeadline
  // waits forever.
  bool wait_one_slow(SteadyTime deadline) noexcept;
  bool wait_all_slow(SteadyTime deadline) noexcept;
  void set_one_slow(std::uint8_t observed) noexcept;
  void set_all_slow(std::uint8_t observed) noexcept;
  void pulse_one_slow() noexcept;
  auto first_unless_multi(bool& redo) noexcept;
  void pulse_all_slow() noexcept;
  bool try_set_bits(std::uint8_t& observed, std::uint8_t set, std::uint8_t clear) noexcept;
  bool set_bits_unless_multi(std::uint8_t set, std::uint8_t clear) noexcept;
  void clear_parked() noexcept;
  // The operations of an event with a multi-object wait registered go through the engine.
  bool set_multi(bool one) noexcept;
  bool pulse_multi(bool one) noexcept;
  bool reset_multi() noexcept;
  bool consume(std::uint8_t observed) noexcept;
  template <bool Consume>
  struct Signal;  // what the park loop needs (src/primitives/signal_wait.hpp): wait_one (Consume)
                  // or wait_all
  // Awaitable waits (exitleft/async.hpp): one step of a coroutine's wait_one (Consume) or
  // wait_all, and its cancellation (src/primitives/signal_wait.hpp, signal_wait_async).
  friend struct AsyncAccess;
  template <bool Consume>
  AsyncStep async_step(AsyncWaitNode<Sync>& node, bool woken) noexcept;
  template <bool Consume>
  bool async_cancel(AsyncWaitNode<Sync>& node) noexcept;

  typename Sync::template Atomic<std::uint8_t> state_;
};

extern template class EXITLEFT_EXPORT BasicRawEvent<StdSync, true>;
extern template class EXITLEFT_EXPORT BasicRawEvent<StdSync, false>;

}  // namespace detail

/// The one-byte event AutoResetEvent and ManualResetEvent are built on (see the file comment).
class RawEvent : public detail::BasicRawEvent<detail::StdSync> {
 public:
  using BasicRawEvent::BasicRawEvent;
};

}  // namespace exitleft
