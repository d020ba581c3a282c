/// @file
/// exitleft::AutoResetEvent — a Win32-style auto-reset event in one byte.
///
/// What it guarantees (docs/guarantees.md, E1-E6):
/// - set() releases exactly one waiter. If threads are waiting, the first one (FIFO) receives the
///   signal directly and the event stays unset: a thread that calls wait() or try_wait() after
///   set() picked a waiter cannot steal it. With nobody waiting the event stays set until one
///   wait consumes it; further set() calls change nothing (a boolean, not a counter).
/// - No wake-up is lost: a set() that happens after a thread began waiting wakes it.
/// - pulse() wakes one waiter if one is waiting at that moment and leaves the event unset; with
///   nobody waiting it only unsets it. reset() unsets and wakes nobody.
/// - wait_for / wait_until return true when signalled, false on timeout. A zero or negative
///   timeout never blocks but still consumes a pending signal; duration::max() and
///   time_point::max() wait forever; any clock works (non-steady clocks are re-checked).
/// - Uncontended set() and try_wait() are one atomic operation: no system call, no lock.
///   sizeof(AutoResetEvent) == 1. Neither copyable nor movable.
///
/// Memory ordering: everything a thread did before set() happens before the return of the wait
/// (or try_wait()) that takes that signal, on every wait path (timed, wait_any, wait_all). An
/// AutoResetEvent created set therefore works as a lock. reset() publishes nothing.
#pragma once

#include <chrono>

#include "exitleft/event_state.hpp"
#include "exitleft/raw_event.hpp"

namespace exitleft {

/// A Win32-style auto-reset event in one byte: each set() releases one waiter (see the file
/// comment for the guarantees).
class AutoResetEvent {
 public:
  /// Creates the event unset (or set).
  constexpr explicit AutoResetEvent(EventState initial = EventState::Unset) noexcept
      : event_(initial == EventState::Set) {}
  AutoResetEvent(const AutoResetEvent&) = delete;
  AutoResetEvent& operator=(const AutoResetEvent&) = delete;

  /// Wakes the first waiter (it gets the signal directly), or, with nobody waiting, leaves the
  /// event set until one wait consumes it.
  void set() noexcept { event_.set_one(); }
  /// Unsets the event; wakes nobody.
  void reset() noexcept { event_.reset(); }
  /// Wakes one thread waiting right now, if any, and leaves the event unset.
  void pulse() noexcept { event_.pulse_one(); }

  /// Waits until signalled and consumes the signal.
  void wait() noexcept { event_.wait_one(); }
  /// Consumes the signal if the event is set; never blocks.
  /// @return true if the signal was taken.
  bool try_wait() noexcept { return event_.try_wait_one(); }
  /// Waits at most `timeout` (zero or negative: never blocks, still takes a pending signal).
  /// @return true if signalled, false on timeout.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return event_.wait_one_for(timeout);
  }
  /// Waits until `when` on its own clock (time_point::max(): forever).
  /// @return true if signalled, false on timeout.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return event_.wait_one_until(when);
  }

  /// A snapshot: is the event set right now?
  bool is_set() const noexcept { return event_.is_set(); }

  /// The underlying event (multi-object waits use it).
  RawEvent& raw() noexcept { return event_; }

 private:
  RawEvent event_;
};

static_assert(sizeof(AutoResetEvent) == 1);

}  // namespace exitleft
