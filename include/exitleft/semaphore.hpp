/// @file
/// exitleft::Semaphore — a counting semaphore with a maximum, on the parking lot.
///
/// What it guarantees:
/// - release(n) adds n units, or returns false and changes nothing if the count would exceed the
///   maximum.
/// - Fairness (as Win32 semaphores, not FIFO; parking_lot's eventual fairness): units released
///   while threads wait go to the count and wake up to n waiters, first parked first; a thread
///   that arrives meanwhile may take a unit before them (barging), and a woken waiter that finds
///   none waits again. About every 0.5 ms a release hands its units directly to the first parked
///   waiters instead, so no waiter is passed over for long (docs/guarantees.md, "Semaphore").
///   While a wait_any / wait_all is registered on the semaphore, units go to its waiters, single
///   and multi, in FIFO order.
/// - acquire() takes one unit, waiting while there is none. try_acquire() never blocks.
/// - A timed acquire's deadline is fixed when the call starts: spurious wake-ups and lost races
///   never restart the timeout (rsevents-extra's Semaphore restarts it). A zero or negative
///   timeout never blocks but still takes a unit that is there; duration::max() and
///   time_point::max() wait forever.
/// - Uncontended release() and try_acquire() are one atomic operation: no system call. A small
///   release far below max() is a fetch_add, so releases never retry under contention.
/// - A waiter that times out never loses a unit another thread released.
///
/// Memory ordering: everything a thread did before release() happens before the return of the
/// acquire (any form, or a multi-object wait) that takes a unit that release() added; a
/// Semaphore(1, 1) works as a lock. count() orders nothing. The full contract:
/// docs/guarantees.md, "Semaphore".
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
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

/// The state machine of Semaphore, written against a sync policy (the members are
/// Semaphore's API).
//
// Written against a sync policy (std_sync.hpp) so that tests/model/ checks the same code; slow
// paths in src/primitives/semaphore_impl.hpp. The state word holds the count (low 32 bits), a
// PARKED flag (bit 32: threads may be parked on the semaphore; set by a waiter that saw the count
// at 0, and a release that sees it wakes them) and a MULTI flag (bit 33: a multi-object wait is
// registered, multi_wait.hpp).
template <class Sync, bool Spin = true>
class BasicSemaphore {
 public:
  static constexpr std::uint64_t kParked = std::uint64_t{1} << 32;  ///< state bit
  static constexpr std::uint64_t kMulti = std::uint64_t{1} << 33;   ///< state bit
  static constexpr std::uint64_t kCountMask = kParked - 1;          ///< the count's bits
  /// release(n) with n <= kAddMax, seeing at least kAddHeadroom + n free units below max(), adds
  /// with one fetch_add instead of a compare-exchange loop. Releases that saw that headroom can
  /// only be overtaken by releases in flight at the same moment, at most one per thread and
  /// kAddMax units each; no system runs 2^25 threads (Linux: at most 2^22), so their sum stays
  /// below kAddHeadroom and the count never passes max(). With the default max() (2^32 - 1) every
  /// small release below 2^31 units takes this path.
  static constexpr std::uint32_t kAddMax = 64;
  static constexpr std::uint64_t kAddHeadroom = std::uint64_t{1} << 31;  ///< see kAddMax

  /// A semaphore holding `initial` units, at most `max`.
  /// @throws std::invalid_argument if initial > max.

  explicit BasicSemaphore(std::uint32_t initial,
                          std::uint32_t max = std::numeric_limits<std::uint32_t>::max())
      : state_(checked(initial, max)), max_(max) {}
  BasicSemaphore(const BasicSemaphore&) = delete;
  BasicSemaphore& operator=(const BasicSemaphore&) = delete;

  /// Adds `n` units (waking up to `n` waiting threads).
  /// @return false, changing nothing, if the count would exceed max().
  bool release(std::uint32_t n = 1) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    if (!(s & (kParked | kMulti)) && n <= kAddMax &&
        count_of(s) + std::uint64_t{n} + kAddHeadroom <= max_) {
      // Nobody waits, and far below the maximum: one fetch_add, which never fails under
      // contention as a compare-exchange does (kAddHeadroom says why the count cannot pass max).
      // release: pairs with the acquire in try_acquire() / Signal::take().
      s = state_.fetch_add(n, std::memory_order_release);
      // A waiter parked, or a multi-object wait registered, since we looked.
      if (s & (kParked | kMulti)) [[unlikely]]
        wake_after_release(n);
      return true;
    }
    for (;;) {
      if (n > max_ - count_of(s)) return false;  // count + n > max, without overflow
      // Waiters: the units go to them, or to the count, under the lot's or the engine's lock.
      if (s & (kParked | kMulti)) return release_slow(n);
      // release: as above.
      if (state_.compare_exchange_weak(s, s + n, std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  /// Takes a unit if there is one; never blocks.
  bool try_acquire() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (count_of(s) != 0) {
      if (s & kMulti) {
        if (const auto taken = multi_engine<Sync>().single_try(wait_target())) return *taken;
        s = state_.load(std::memory_order_relaxed);  // MULTI went away: take it lock-free
        continue;
      }
      // acquire: pairs with the release in release() / wake_after_release().
      if (state_.compare_exchange_weak(s, s - 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
      // Lost a race: back off for one CPU pause, then look again (the state the failed exchange
      // returned is stale by then). Retrying at once keeps the cache line from the releasing
      // threads (bench/events_bench.cpp, BM_SemaphoreThroughput).
      Sync::pause(1);
      s = state_.load(std::memory_order_relaxed);
    }
    return false;
  }
  /// Takes a unit, waiting while there is none.
  void acquire() noexcept {
    if (!take_once()) acquire_slow(kNoDeadline);
  }
  /// acquire() for at most `timeout` (fixed at the call). @return true if a unit was taken.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) noexcept {
    return take_once() || acquire_slow(deadline_after(timeout));
  }
  /// acquire() until `when` on its own clock. @return true if a unit was taken.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& when) noexcept {
    return take_once() ||
           wait_until_time_point(when, [this](SteadyTime d) { return acquire_slow(d); });
  }

  /// A snapshot of the count.
  std::uint32_t count() const noexcept {
    return count_of(state_.load(std::memory_order_relaxed));  // relaxed: a snapshot
  }
  /// The maximum count.
  std::uint32_t max() const noexcept { return max_; }

 private:
  static std::uint64_t checked(std::uint32_t initial, std::uint32_t max) {
    if (initial > max)
      throw std::invalid_argument("exitleft::Semaphore: initial count exceeds max");
    return initial;
  }
  static constexpr std::uint32_t count_of(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s & kCountMask);
  }
  // What the multi-wait engine needs (detail/multi_wait.hpp).
  template <class, class>
  friend struct WaitOpsFor;
  friend struct WaitAccess;
  using Word = std::uint64_t;
  static constexpr bool signalled(Word s) noexcept { return count_of(s) != 0; }
  static constexpr Word consumed(Word s) noexcept { return s - 1; }
  bool try_take() noexcept { return try_acquire(); }
  // The blocking forms' fast path: one attempt at a unit. A lost race goes to acquire_slow(),
  // whose loop backs off before it tries again (src/primitives/signal_wait.hpp).
  bool take_once() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    // acquire: pairs with the release in release() / wake_after_release().
    return count_of(s) != 0 && !(s & kMulti) &&
           state_.compare_exchange_strong(s, s - 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  WaitTarget<Sync> wait_target() noexcept {
    return WaitOpsFor<Sync, BasicSemaphore>::target(*this, state_, false);
  }

  bool release_slow(std::uint32_t n) noexcept;
  bool release_multi(std::uint32_t n) noexcept;
  void wake_after_release(std::uint32_t n) noexcept;
  bool acquire_slow(SteadyTime deadline) noexcept;
  struct Signal;  // what the park loop needs (src/primitives/signal_wait.hpp)
  // Awaitable acquire (exitleft/async.hpp): one step of a coroutine's wait, and its cancellation.
  friend struct AsyncAccess;
  AsyncStep async_step(AsyncWaitNode<Sync>& node, bool woken) noexcept;
  bool async_cancel(AsyncWaitNode<Sync>& node) noexcept;

  typename Sync::template Atomic<std::uint64_t> state_;
  const std::uint32_t max_;
};

extern template class EXITLEFT_EXPORT BasicSemaphore<StdSync, true>;
extern template class EXITLEFT_EXPORT BasicSemaphore<StdSync, false>;

}  // namespace detail

/// A counting semaphore with a maximum (see the file comment).
class Semaphore : public detail::BasicSemaphore<detail::StdSync> {
 public:
  using BasicSemaphore::BasicSemaphore;
};

}  // namespace exitleft
