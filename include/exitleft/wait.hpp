/// @file
/// exitleft::wait_any / wait_all — Win32 WaitForMultipleObjects over events, semaphores and
/// countdown events.
///
/// What it guarantees:
/// - A WaitableRef refers to an AutoResetEvent, ManualResetEvent, Semaphore or CountdownEvent
///   (implicitly, so wait_any({a, b, c}) works). An object is signalled while: an event is set, a
///   semaphore's count is above 0, a countdown's count is 0. Waiting consumes an auto-reset
///   event's signal and one semaphore unit; manual-reset events and countdowns are only observed.
/// - wait_any returns the lowest index that is signalled and consumes only that object.
/// - wait_all is atomic: it consumes nothing until every object is signalled at the same moment,
///   then consumes all of them in one step; no other thread ever sees some of them consumed and
///   others not (pevents consumes objects one by one as they come).
/// - An object that becomes signalled while a multi-object wait sleeps wakes it. Single-object
///   waiters and multi-object waiters of one object are served in the order they started
///   waiting, so neither starves the other.
/// - Timeouts follow docs/guarantees.md, "Time"; _for / _until return nullopt / false on timeout.
/// - 1 to 64 objects. An empty list, more than 64 objects, or the same object twice in a
///   wait-all throws std::invalid_argument (the same object twice in a wait-any is allowed).
/// - Objects nobody multi-waits on keep their single-atomic fast paths. While a multi-object wait
///   is registered on an object, that object's operations take a process-wide lock (see
///   detail/multi_wait.hpp for the design).
///
/// @code
///   exitleft::AutoResetEvent data;  exitleft::ManualResetEvent quit;
///   switch (exitleft::wait_any({data, quit})) {  // 0: data (consumed), 1: quit (still set)
///     ...
///   }
/// @endcode
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/export.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "exitleft/semaphore.hpp"

namespace exitleft {

/// A reference to one object of a multi-object wait. Copy it freely; the object must outlive
/// the waits that use it.
class WaitableRef {
 public:
  /// An auto-reset event: signalled while set; a wait consumes it.
  WaitableRef(AutoResetEvent& e) noexcept  // NOLINT(google-explicit-constructor)
      : target_(detail::WaitAccess::target(e.raw(), false)) {}
  /// A manual-reset event: signalled while set; observed.
  WaitableRef(ManualResetEvent& e) noexcept  // NOLINT(google-explicit-constructor)
      : target_(detail::WaitAccess::target(e.raw(), true)) {}
  /// A semaphore: signalled while its count is above 0; a wait takes one unit.
  WaitableRef(Semaphore& s) noexcept  // NOLINT(google-explicit-constructor)
      : target_(detail::WaitAccess::target(s)) {}
  /// A countdown event: signalled while its count is 0; observed.
  WaitableRef(CountdownEvent& c) noexcept  // NOLINT(google-explicit-constructor)
      : target_(detail::WaitAccess::target(c)) {}

  /// What the multi-wait engine needs to know of the object.
  const detail::WaitTarget<detail::StdSync>& target() const noexcept { return target_; }

 private:
  detail::WaitTarget<detail::StdSync> target_;
};

/// The most objects one wait may name.
inline constexpr std::size_t kMaxWaitObjects = detail::kMaxWaitObjects;

namespace detail {
// Validate, then wait until `deadline` (kNoDeadline: forever). Throw std::invalid_argument.
EXITLEFT_EXPORT std::optional<std::size_t> wait_any_until_steady(
    std::span<const WaitableRef> objects, SteadyTime deadline);
EXITLEFT_EXPORT bool wait_all_until_steady(std::span<const WaitableRef> objects,
                                           SteadyTime deadline);
}  // namespace detail

/// Waits until one of `objects` is signalled; consumes only that one.
/// @return the lowest signalled index. @throws std::invalid_argument (empty, more than 64).
inline std::size_t wait_any(std::span<const WaitableRef> objects) {
  return *detail::wait_any_until_steady(objects, detail::kNoDeadline);
}
/// wait_any() over a braced list: `wait_any({a, b, c})`.
inline std::size_t wait_any(std::initializer_list<WaitableRef> objects) {
  return wait_any(std::span<const WaitableRef>(objects.begin(), objects.size()));
}
/// wait_any() for at most `timeout`. @return the index, or nullopt on timeout.
template <class Rep, class Period>
std::optional<std::size_t> wait_any_for(const std::chrono::duration<Rep, Period>& timeout,
                                        std::span<const WaitableRef> objects) {
  return detail::wait_any_until_steady(objects, detail::deadline_after(timeout));
}
/// wait_any_for() over a braced list.
template <class Rep, class Period>
std::optional<std::size_t> wait_any_for(const std::chrono::duration<Rep, Period>& timeout,
                                        std::initializer_list<WaitableRef> objects) {
  return wait_any_for(timeout, std::span<const WaitableRef>(objects.begin(), objects.size()));
}
/// wait_any() until `when` on its own clock. @return the index, or nullopt on timeout.
template <class Clock, class Duration>
std::optional<std::size_t> wait_any_until(const std::chrono::time_point<Clock, Duration>& when,
                                          std::span<const WaitableRef> objects) {
  return detail::attempt_until(
      when, [&](detail::SteadyTime d) { return detail::wait_any_until_steady(objects, d); },
      [](const std::optional<std::size_t>& r) { return !r.has_value(); });
}
/// wait_any_until() over a braced list.
template <class Clock, class Duration>
std::optional<std::size_t> wait_any_until(const std::chrono::time_point<Clock, Duration>& when,
                                          std::initializer_list<WaitableRef> objects) {
  return wait_any_until(when, std::span<const WaitableRef>(objects.begin(), objects.size()));
}

/// Waits until all of `objects` are signalled at once, then consumes them all in one step.
/// @throws std::invalid_argument (empty, more than 64, an object twice).
inline void wait_all(std::span<const WaitableRef> objects) {
  detail::wait_all_until_steady(objects, detail::kNoDeadline);
}
/// wait_all() over a braced list: `wait_all({a, b, c})`.
inline void wait_all(std::initializer_list<WaitableRef> objects) {
  wait_all(std::span<const WaitableRef>(objects.begin(), objects.size()));
}
/// wait_all() for at most `timeout`. @return false on timeout (then nothing was consumed).
template <class Rep, class Period>
bool wait_all_for(const std::chrono::duration<Rep, Period>& timeout,
                  std::span<const WaitableRef> objects) {
  return detail::wait_all_until_steady(objects, detail::deadline_after(timeout));
}
/// wait_all_for() over a braced list.
template <class Rep, class Period>
bool wait_all_for(const std::chrono::duration<Rep, Period>& timeout,
                  std::initializer_list<WaitableRef> objects) {
  return wait_all_for(timeout, std::span<const WaitableRef>(objects.begin(), objects.size()));
}
/// wait_all() until `when` on its own clock. @return false on timeout (nothing consumed).
template <class Clock, class Duration>
bool wait_all_until(const std::chrono::time_point<Clock, Duration>& when,
                    std::span<const WaitableRef> objects) {
  return detail::wait_until_time_point(
      when, [&](detail::SteadyTime d) { return detail::wait_all_until_steady(objects, d); });
}
/// wait_all_until() over a braced list.
template <class Clock, class Duration>
bool wait_all_until(const std::chrono::time_point<Clock, Duration>& when,
                    std::initializer_list<WaitableRef> objects) {
  return wait_all_until(when, std::span<const WaitableRef>(objects.begin(), objects.size()));
}

}  // namespace exitleft
