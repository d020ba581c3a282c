/// @file
/// exitleft::ManualResetEvent — a Win32-style manual-reset event in one byte.
///
/// What it guarantees (docs/guarantees.md, E1-E6):
/// - set() sets the event and wakes every waiter; it stays set, and every wait returns true at
///   once, until reset(). Once set() has returned, is_set() is true until someone calls reset().
/// - No wake-up is lost: a set() that happens after a thread began waiting wakes it.
/// - A waiter that times out never undoes a concurrent set() (rsevents 0.3.1 loses the set in
///   that race).
/// - pulse() wakes every thread waiting at that moment (their waits return true) and leaves the
///   event unset; with nobody waiting it only unsets it. reset() unsets and wakes nobody.
/// - wait_for / wait_until return true when set, false on timeout; try_wait() == is_set().
///   A zero or negative timeout never blocks; duration::max() and time_point::max() wait
///   forever; any clock works (non-steady clocks are re-checked).
/// - Uncontended set() and try_wait() are one atomic operation: no system call, no lock.
///   sizeof(ManualResetEvent) == 1. Neither copyable nor movable.
///
/// Memory ordering: everything a thread did before set() happens before every wait, try_wait()
/// or is_set() that returns true because of that set(), and before the return of a wait that
/// pulse() released. reset() publishes nothing.
#pragma once

#include <chrono>

#include "exitleft/event_state.hpp"
#include "exitleft/raw_event.hpp"

namespace exitleft {

/// A Win32-style manual-reset event in one byte: set() releases every waiter and the event
/// stays set until reset() (see the file comment for the guarantees).
class ManualResetEvent {
 public:
  /// Creates the event unset (or set).
  constexpr explicit ManualResetEvent(EventState initial = EventState::Unset) noexcept
      : event_(initial == EventState::Set) {}
  ManualResetEvent(const ManualResetEvent&) = delete;
  ManualResetEvent& operator=(const ManualResetEvent&) = delete;

  /// Sets the event and wakes every waiter; it stays set until reset().
  void set() noexcept { event_.set_all(); }
  /// Unsets the event; wakes nobody.
  void reset() noexcept { event_.reset(); }
  /// Wakes every thread waiting right now (their waits return true) and leaves the event unset.
  void pulse() noexcept { event_.pulse_all(); }

  /// Waits until the event is set (observes it; never consumes).
  void wait() noexcept { event_.wait_all(); }
  /// Same as is_set(): never blocks.
  bool try_wait() noexcept { return event_.is_set(); }
  /// Waits at most `timeout` (zero or negative: never blocks).
  /// @return true if set, false on timeout.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return event_.wait_all_for(timeout);
  }
  /// Waits until `when` on its own clock (time_point::max(): forever).
  /// @return true if set, false on timeout.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return event_.wait_all_until(when);
  }

  /// A snapshot: is the event set right now?
  bool is_set() const noexcept { return event_.is_set(); }

  /// The underlying event (multi-object waits use it).
  RawEvent& raw() noexcept { return event_; }

 private:
  RawEvent event_;
};

static_assert(sizeof(ManualResetEvent) == 1);

}  // namespace exitleft
