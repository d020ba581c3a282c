// Time rules shared by every blocking call (docs/guarantees.md, "Time"):
// - deadlines are absolute steady_clock time points, fixed once when the call starts, so a
//   spurious wake-up never restarts a timeout;
// - a relative timeout is rounded up to the clock's tick and saturates: duration::max() or any
//   timeout that would overflow the clock means "forever" (kNoDeadline);
// - a zero or negative timeout (or a NaN) gives a deadline in the past: the call does not block
//   but still consumes a signal that is already there;
// - time points of other clocks are converted to steady_clock and re-checked on their own clock
//   after each steady timeout, since such a clock may be adjusted meanwhile.
#pragma once

#include <chrono>
#include <type_traits>

namespace exitleft::detail {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
inline constexpr SteadyTime kNoDeadline = SteadyTime::max();
inline constexpr SteadyTime kAlreadyPassed = SteadyTime::min();

template <class Rep, class Period>
SteadyTime deadline_after(const std::chrono::duration<Rep, Period>& timeout) noexcept {
  if (!(timeout > timeout.zero())) return kAlreadyPassed;  // also catches a NaN
  const SteadyTime now = SteadyClock::now();
  using Wide = std::chrono::duration<long double>;
  if (Wide(timeout) >= Wide(SteadyTime::max() - now)) return kNoDeadline;
  return now + std::chrono::ceil<SteadyClock::duration>(timeout);
}

// Runs `attempt(SteadyTime deadline)` with `when` converted to a steady deadline. For clocks
// other than steady_clock, while `timed_out(result)` holds but `when` has not passed on its own
// clock (it may have been set back), tries again with a fresh deadline. Returns the last result.
template <class Clock, class Duration, class Attempt, class TimedOut>
auto attempt_until(const std::chrono::time_point<Clock, Duration>& when, Attempt&& attempt,
                   TimedOut&& timed_out) {
  using TimePoint = std::chrono::time_point<Clock, Duration>;
  if (when == TimePoint::max()) return attempt(kNoDeadline);
  if constexpr (std::is_same_v<Clock, SteadyClock>) {
    using Wide = std::chrono::duration<long double>;
    if (Wide(when.time_since_epoch()) >= Wide(SteadyTime::max().time_since_epoch())) {
      return attempt(kNoDeadline);
    }
    if (Wide(when.time_since_epoch()) <= Wide(SteadyTime::min().time_since_epoch())) {
      return attempt(kAlreadyPassed);
    }
    return attempt(SteadyTime(std::chrono::ceil<SteadyClock::duration>(when.time_since_epoch())));
  } else {
    for (;;) {
      const auto now = Clock::now();
      if (now >= when) return attempt(kAlreadyPassed);
      auto result = attempt(deadline_after(when - now));
      if (!timed_out(result)) return result;
      // The steady deadline passed; `Clock` may have been set back meanwhile: look again.
    }
  }
}

// attempt_until for waits that return true when signalled.
template <class Clock, class Duration, class WaitSteady>
bool wait_until_time_point(const std::chrono::time_point<Clock, Duration>& when,
                           WaitSteady&& wait_steady) {
  return attempt_until(when, wait_steady, [](bool signalled) { return !signalled; });
}

}  // namespace exitleft::detail
