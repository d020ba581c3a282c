// Semaphore's slow paths (see raw_event_impl.hpp for the ordering argument, which is the same).
//
// Invariant: while PARKED is set the count is 0. A waiter sets PARKED only when it saw the count
// at 0; release() never adds units while PARKED is set (it comes here instead), and this slow
// path adds units only in the same RMW that clears PARKED (or adds none, when waiters remain).
// So a thread queued in the lot always means count 0, and units released while threads wait go
// to them first, in FIFO order.
#pragma once

#include "exitleft/detail/multi_wait.hpp"
#include "exitleft/semaphore.hpp"

namespace exitleft::detail {

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::should_park() const noexcept {
  // relaxed: under the bucket lock.
  const std::uint64_t s = state_.load(std::memory_order_relaxed);
  return count_of(s) == 0 && (s & kParked) != 0;
}

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::release_slow(std::uint32_t n) noexcept {
  if (state_.load(std::memory_order_relaxed) & kMulti) return release_multi(n);
  bool released = true;
  bool redo = false;       // MULTI appeared before anything changed: redo under the engine
  bool saw_multi = false;  // MULTI appeared after units were handed out: let the engine look
  std::uint32_t to_wake = n;
  Sync::unpark_filter(
      this,
      [&](parking_lot::ParkToken) {
        if (to_wake == 0) return parking_lot::FilterOp::Stop;
        // relaxed: under the bucket lock.
        if (to_wake == n && (state_.load(std::memory_order_relaxed) & kMulti)) {
          redo = true;
          return parking_lot::FilterOp::Stop;
        }
        --to_wake;
        return parking_lot::FilterOp::Unpark;
      },
      [&](parking_lot::UnparkResult r) {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        if (r.unparked_threads == 0 && (redo || (s & kMulti))) {
          redo = true;
          return kTokenHandOff;
        }
        // Each woken thread got one unit directly; the rest goes to the count.
        const std::uint64_t rest = n - r.unparked_threads;
        for (;;) {
          if (rest > max_ - count_of(s)) {
            // Only possible when nobody was queued (then the count may have grown since the
            // caller looked): fail without changing anything, as release() promises.
            released = false;
            break;
          }
          std::uint64_t next = s + rest;
          if (!r.have_more_threads) next &= ~kParked;
          // release: pairs with the acquire in try_acquire().
          if (state_.compare_exchange_weak(s, next, std::memory_order_release,
                                           std::memory_order_relaxed)) {
            saw_multi = (next & kMulti) != 0 && rest != 0;
            break;
          }
        }
        return kTokenHandOff;
      });
  if (redo) return release_multi(n);
  // Units added while a multi-waiter registered: let the engine hand them out. (If it has gone
  // again, kRetry: the units stay in the count for the lock-free paths.)
  if (saw_multi) {
    const WaitTarget<Sync> target = wait_target();
    if (auto route = multi_engine<Sync>().route(target)) route.dispatch(false);
  }
  return released;
}

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::release_multi(std::uint32_t n) noexcept {
  {
    const WaitTarget<Sync> target = wait_target();
    auto route = multi_engine<Sync>().route(target);
    if (route) {
      if (n > max_ - count_of(state_.load(std::memory_order_relaxed))) return false;
      // acq_rel: the engine's rule (src/multi_wait_impl.hpp).
      state_.fetch_add(n, std::memory_order_acq_rel);
      route.dispatch(false);
      return true;
    }
  }
  return release(n);  // MULTI went away before the engine looked: release lock-free
}

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::acquire_slow(SteadyTime deadline) noexcept {
  BasicSpinWait<Sync, SpinTail::Pause> spin;  // a signal wait: no sched_yield (basic_spin_wait.hpp)
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    parking_lot::ParkToken token = parking_lot::DEFAULT_PARK_TOKEN;
    if (s & kMulti) {
      // A multi-object wait is registered: take a unit, or queue, through the engine.
      const auto a = multi_engine<Sync>().single_attempt(wait_target());
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kSignalled) return true;
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kRetry) {  // MULTI went away: lock-free
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      if (deadline != kNoDeadline && deadline <= Sync::now()) return false;
      token = static_cast<parking_lot::ParkToken>(a.token);
    } else if (count_of(s) != 0) {
      // acquire: pairs with the release in release() / release_slow().
      if (state_.compare_exchange_weak(s, s - 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
      continue;
    } else if (deadline != kNoDeadline && deadline <= Sync::now()) {
      return false;
    } else if (!(s & kParked)) {
      if (Spin && spin.spin()) {
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      // relaxed: validate re-checks under the bucket lock.
      if (!state_.compare_exchange_weak(s, s | kParked, std::memory_order_relaxed,
                                        std::memory_order_relaxed)) {
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
    if (r.kind == parking_lot::ParkResult::Kind::Unparked && r.token == kTokenHandOff) {
      return true;  // the releaser handed us a unit; it never touched the count
    }
    if (r.kind == parking_lot::ParkResult::Kind::TimedOut) return try_acquire();
    spin.reset();
    s = state_.load(std::memory_order_relaxed);
  }
}

}  // namespace exitleft::detail
