// CountdownEvent's slow paths (see raw_event_impl.hpp for the ordering argument, which is the
// same: PARKED is set by waiters with a relaxed CAS, checked by validate under the bucket lock,
// and cleared only under that lock or by the RMW that reaches zero).
#pragma once

#include "exitleft/countdown_event.hpp"
#include "exitleft/detail/broadcast.hpp"
#include "exitleft/detail/multi_wait.hpp"

namespace exitleft::detail {

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::should_park() const noexcept {
  // relaxed: under the bucket lock.
  const std::uint64_t s = state_.load(std::memory_order_relaxed);
  return (s & kCountMask) != 0 && (s & kParked) != 0;
}

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::decrement_slow() {
  bool was_zero = false;
  bool redo = false;
  const bool reached_zero = broadcast_if<Sync>(
      this,
      [&] {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        for (;;) {
          if (s & kMulti) {  // redo under the multi-wait engine, changing nothing here
            redo = true;
            return false;
          }
          const std::uint64_t c = s & kCountMask;
          if (c == 0) {
            was_zero = true;  // thrown below, outside the lock
            return false;
          }
          // Reaching 0 clears PARKED too: every queued thread is woken now.
          const std::uint64_t next = c == 1 ? 0 : s - 1;
          // release: as in decrement().
          if (state_.compare_exchange_weak(s, next, std::memory_order_release,
                                           std::memory_order_relaxed)) {
            return c == 1;
          }
        }
      },
      kTokenBroadcast);
  if (redo) return decrement_multi();
  if (was_zero) throw_at_zero();
  return reached_zero;
}

// Under the multi-wait engine (MULTI was seen set). Each changes nothing and says so (Retry,
// false) if the engine found MULTI clear: the caller redoes the operation lock-free. acq_rel on
// every change: the engine's rule (src/multi_wait_impl.hpp). Exceptions are thrown after the
// engine's lock is released.
template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::decrement_multi() {
  enum class Outcome { kRetry, kAtZero, kLowered, kReachedZero } outcome = Outcome::kRetry;
  {
    const WaitTarget<Sync> target = wait_target();
    auto route = multi_engine<Sync>().route(target);
    if (route) {
      const std::uint64_t c = state_.load(std::memory_order_relaxed) & kCountMask;
      if (c == 0) {
        outcome = Outcome::kAtZero;
      } else {
        state_.fetch_sub(1, std::memory_order_acq_rel);
        outcome = c == 1 ? Outcome::kReachedZero : Outcome::kLowered;
        if (c == 1) route.dispatch(true);
      }
    }
  }
  switch (outcome) {
    case Outcome::kAtZero:
      throw_at_zero();
    case Outcome::kRetry:
      return decrement();  // MULTI went away before the engine looked: decrement lock-free
    case Outcome::kReachedZero:
      return true;
    case Outcome::kLowered:
      break;
  }
  return false;
}

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::increment_multi(std::size_t n) {
  bool overflow = false;
  {
    const WaitTarget<Sync> target = wait_target();
    auto route = multi_engine<Sync>().route(target);
    if (!route) return false;
    const std::uint64_t c = state_.load(std::memory_order_relaxed) & kCountMask;
    overflow = n > kCountMask - c;
    if (!overflow) state_.fetch_add(n, std::memory_order_acq_rel);
  }
  if (overflow) throw_overflow();
  return true;
}

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::reset_multi(std::uint64_t count) noexcept {
  const WaitTarget<Sync> target = wait_target();
  auto route = multi_engine<Sync>().route(target);
  if (!route) return false;
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  while (!state_.compare_exchange_weak(s, (s & ~kCountMask) | count, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
  }
  if (count == 0) route.dispatch(true);
  return true;
}

template <class Sync, bool Spin>
void BasicCountdownEvent<Sync, Spin>::reset_to_zero_slow() noexcept {
  bool redo = false;
  broadcast_if<Sync>(
      this,
      [&] {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        for (;;) {
          if (s & kMulti) {
            redo = true;
            return false;
          }
          // release: as in decrement(). Storing 0 also clears PARKED: every queued thread wakes.
          if (state_.compare_exchange_weak(s, 0, std::memory_order_release,
                                           std::memory_order_relaxed)) {
            return true;
          }
        }
      },
      kTokenBroadcast);
  if (redo && !reset_multi(0)) reset(0);  // MULTI went away again: reset lock-free
}

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::wait_slow(SteadyTime deadline) noexcept {
  BasicSpinWait<Sync, SpinTail::Pause> spin;  // a signal wait: no sched_yield (basic_spin_wait.hpp)
  // acquire: pairs with the release in decrement() / reset() / the slow paths above.
  std::uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    parking_lot::ParkToken token = parking_lot::DEFAULT_PARK_TOKEN;
    if (s & kMulti) {
      // A multi-object wait is registered: observe, or queue, through the engine.
      const auto a = multi_engine<Sync>().single_attempt(wait_target());
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kSignalled) return true;
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kRetry) {  // MULTI went away: lock-free
        s = state_.load(std::memory_order_acquire);
        continue;
      }
      if (deadline != kNoDeadline && deadline <= Sync::now()) return false;
      token = static_cast<parking_lot::ParkToken>(a.token);
    } else if ((s & kCountMask) == 0) {
      return true;
    } else if (deadline != kNoDeadline && deadline <= Sync::now()) {
      return false;
    } else if (!(s & kParked)) {
      if (Spin && spin.spin()) {
        s = state_.load(std::memory_order_acquire);
        continue;
      }
      // acquire (on failure): the count we look at next may be the 0 we wait for, as the loads
      // above. Setting PARKED itself needs no order: validate re-checks under the bucket lock.
      if (!state_.compare_exchange_weak(s, s | kParked, std::memory_order_acquire,
                                        std::memory_order_acquire)) {
        continue;
      }
    }
    const parking_lot::ParkResult r = Sync::park(
        this, [this] { return should_park(); }, [] {},
        [this](const void*, bool was_last) {
          // relaxed: under the bucket lock; only PARKED changes, never the count.
          if (was_last) state_.fetch_and(~kParked, std::memory_order_relaxed);
        },
        token, deadline);
    if (r.kind == parking_lot::ParkResult::Kind::Unparked && r.token == kTokenBroadcast) {
      // acquire: pairs with the release RMW of every decrement (and reset) before the 0 that
      // woke us, not only the waker's: the lot's wake-up orders us after the waker alone, whose
      // RMW read the others' decrements without acquiring them. Every change of state_ is an
      // RMW, so whatever value this reads continues their release sequences. (The Relacy model
      // countdown.rounds finds the race without this load.)
      (void)state_.load(std::memory_order_acquire);
      return true;
    }
    if (r.kind == parking_lot::ParkResult::Kind::TimedOut) return try_wait();
    spin.reset();
    s = state_.load(std::memory_order_acquire);
  }
}

}  // namespace exitleft::detail
