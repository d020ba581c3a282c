/// @file
/// exitleft::CountdownEvent — a reusable latch: signalled while its count is 0.
///
/// What it guarantees:
/// - decrement() lowers the count by one and returns true if this call reached 0, which wakes
///   every waiter. At 0 it throws std::logic_error and changes nothing.
/// - increment(n) raises the count; from 0 the event becomes unset again (rsevents-extra's
///   CountdownEvent stays set there). reset(count) sets the count; reset(0) releases every
///   waiter, reset(n > 0) unsets. A count that would pass kMaxCount throws std::overflow_error.
/// - wait() returns once the count is 0; waits observe, they never change the count. The change
///   that reaches 0 and the wake-up of the threads waiting at that moment are one step: they
///   return true even if the count rises again at once, and a thread that starts waiting after it
///   rose is not woken by it. Timeouts follow docs/guarantees.md, "Time".
/// - No wake-up is lost; uncontended decrement(), increment() and try_wait() are one atomic
///   operation (try_wait a load) and make no system call.
///
/// Memory ordering: everything done before each decrement() (or reset()) that led to a zero
/// happens before a wait() or try_wait() that returns true because of that zero: the work of
/// every decrementer, not only the last one's. increment() and count() publish nothing. The full
/// contract: docs/guarantees.md, "CountdownEvent".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "exitleft/detail/async_step.hpp"
#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/lot/wake_tokens.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft {
namespace detail {

/// The state machine of CountdownEvent, written against a sync policy (the members are
/// CountdownEvent's API).
//
// Written against a sync policy (std_sync.hpp); slow paths in
// src/primitives/countdown_event_impl.hpp. The state word holds the count (low 62 bits), a MULTI
// flag (bit 62: a multi-object wait is registered, multi_wait.hpp) and a PARKED flag (bit 63).
template <class Sync, bool Spin = true>
class BasicCountdownEvent {
 public:
  static constexpr std::uint64_t kParked = std::uint64_t{1} << 63;  ///< state bit
  static constexpr std::uint64_t kMulti = std::uint64_t{1} << 62;   ///< state bit
  static constexpr std::uint64_t kCountMask = kMulti - 1;           ///< the count's bits
  /// The largest count (2^62 - 1 where size_t has 64 bits).
  static constexpr std::size_t kMaxCount =
      kCountMask < SIZE_MAX ? static_cast<std::size_t>(kCountMask) : SIZE_MAX;

  /// A latch at `initial` (0: signalled). @throws std::overflow_error above kMaxCount.
  explicit BasicCountdownEvent(std::size_t initial) : state_(checked(initial)) {}
  BasicCountdownEvent(const BasicCountdownEvent&) = delete;
  BasicCountdownEvent& operator=(const BasicCountdownEvent&) = delete;

  /// Lowers the count by one. @return true if this call reached 0 (every waiter wakes).
  /// @throws std::logic_error if the count is already 0 (nothing changes).
  bool decrement() {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s & kMulti) return decrement_multi();
      const std::uint64_t c = s & kCountMask;
      if (c == 0) throw_at_zero();
      // Reaching 0 with waiters parked: under the lot's bucket lock (detail/broadcast.hpp).
      if (c == 1 && (s & kParked)) return decrement_slow();
      // release: pairs with the acquire in try_wait() / wait_slow(); every decrement is an RMW,
      // so the waiters see the work of all decrementers (a release sequence).
      if (state_.compare_exchange_weak(s, s - 1, std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return c == 1;
      }
    }
  }

  /// Raises the count by `n`; from 0 the event becomes unset.
  /// @throws std::overflow_error past kMaxCount (nothing changes).
  void increment(std::size_t n = 1) {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s & kMulti) {
        if (increment_multi(n)) return;
        s = state_.load(std::memory_order_relaxed);  // MULTI went away: increment lock-free
        continue;
      }
      if (n > kCountMask - (s & kCountMask)) throw_overflow();
      // relaxed: raising the count publishes nothing; waiters keep waiting.
      if (state_.compare_exchange_weak(s, s + n, std::memory_order_relaxed)) return;
    }
  }

  /// Sets the count: reset(0) releases every waiter, reset(n > 0) unsets.
  void reset(std::size_t count) {
    const std::uint64_t target = checked(count);
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s & kMulti) {
        if (reset_multi(target)) return;
        s = state_.load(std::memory_order_relaxed);  // MULTI went away: reset lock-free
        continue;
      }
      if (target == 0 && (s & kParked)) return reset_to_zero_slow();
      // release: as in decrement().
      if (state_.compare_exchange_weak(s, target | (s & kParked), std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
  }

  /// A snapshot of the count.
  std::size_t count() const noexcept {
    return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) & kCountMask);
  }

  /// Is the count 0 right now? Never blocks.
  bool try_wait() const noexcept {
    // acquire: pairs with the release in decrement() / reset().
    return (state_.load(std::memory_order_acquire) & kCountMask) == 0;
  }
  /// Waits until the count is 0 (observes it).
  void wait() noexcept {
    if (!try_wait()) wait_slow(kNoDeadline);
  }
  /// wait() for at most `timeout`. @return true if the count reached 0, false on timeout.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return try_wait() || wait_slow(deadline_after(timeout));
  }
  /// wait() until `when` on its own clock. @return true if the count reached 0.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return try_wait() || wait_until_time_point(when, [this](SteadyTime d) { return wait_slow(d); });
  }

 private:
  static std::uint64_t checked(std::size_t count) {
    if (static_cast<std::uint64_t>(count) > kCountMask) {
      throw std::overflow_error("exitleft::CountdownEvent: count too large");
    }
    return count;
  }
  [[noreturn]] static void throw_at_zero() {
    throw std::logic_error("exitleft::CountdownEvent::decrement: the count is already 0");
  }
  [[noreturn]] static void throw_overflow() {
    throw std::overflow_error("exitleft::CountdownEvent::increment: the count overflows");
  }
  // What the multi-wait engine needs (detail/multi_wait.hpp). Waits only observe a countdown.
  template <class, class>
  friend struct WaitOpsFor;
  friend struct WaitAccess;
  using Word = std::uint64_t;
  static constexpr bool signalled(Word s) noexcept { return (s & kCountMask) == 0; }
  static constexpr Word consumed(Word s) noexcept { return s; }  // waits only observe
  bool try_take() noexcept { return try_wait(); }
  WaitTarget<Sync> wait_target() noexcept {
    return WaitOpsFor<Sync, BasicCountdownEvent>::target(*this, state_, true);
  }

  bool decrement_slow();
  bool decrement_multi();
  bool increment_multi(std::size_t n);
  bool reset_multi(std::uint64_t count) noexcept;
  void reset_to_zero_slow() noexcept;
  bool wait_slow(SteadyTime deadline) noexcept;
  struct Signal;  // what the park loop needs (src/primitives/signal_wait.hpp)
  // Awaitable wait (exitleft/async.hpp): one step of a coroutine's wait, and its cancellation.
  friend struct AsyncAccess;
  AsyncStep async_step(AsyncWaitNode<Sync>& node, bool woken) noexcept;
  bool async_cancel(AsyncWaitNode<Sync>& node) noexcept;

  typename Sync::template Atomic<std::uint64_t> state_;
};

extern template class EXITLEFT_EXPORT BasicCountdownEvent<StdSync, true>;

}  // namespace detail

/// A reusable latch, signalled while its count is 0 (see the file comment).
class CountdownEvent : public detail::BasicCountdownEvent<detail::StdSync> {
 public:
  using BasicCountdownEvent::BasicCountdownEvent;
};

}  // namespace exitleft
