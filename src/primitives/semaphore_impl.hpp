// Semaphore's slow paths. Ordering: the argument of src/primitives/signal_wait.hpp, whose loop
// acquire uses.
//
// Fairness: barging, with parking_lot's eventual fairness. A waiter sets PARKED only when it saw
// the count at 0, and release() comes to release_slow() while PARKED is set. Normally the
// released units go to the count, where any thread may take them (an arriving one included),
// and up to n parked threads are woken, in FIFO order, to look again (kTokenRetry): one that
// finds the units gone parks again, at the back of the queue. About every 0.5 ms per bucket the
// lot says be_fair: then each woken thread receives its unit directly (kTokenHandOff) and the
// count gets only the rest; the units are added under the bucket lock, so no arriving thread can
// take them first, and a parked waiter is never passed over for longer than that. Running
// threads keep taking units without a wake-up per unit, which a strict FIFO hand-off costs. While
// MULTI is set the engine serves waiters in FIFO order instead (multi_wait/engine.hpp).
//
// release()'s fetch_add path adds first and looks after (wake_after_release()): when a waiter
// parked in the moment between its load and its add, the units are in the count already, and a
// fair hand-off takes them back from it if they are still there.
#pragma once

#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/semaphore.hpp"
#include "src/primitives/signal_wait.hpp"

namespace exitleft::detail {

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
        // Fair: each woken thread gets one unit directly, the rest goes to the count. Otherwise
        // every unit goes to the count and the woken threads compete for them.
        const bool hand_off = r.unparked_threads != 0 && r.be_fair;
        const std::uint64_t rest = hand_off ? n - r.unparked_threads : n;
        for (;;) {
          if (rest > max_ - count_of(s)) {
            // The count grew since the caller looked: fail without changing it, as release()
            // promises (the threads woken meanwhile only look again).
            released = false;
            break;
          }
          std::uint64_t next = s + rest;
          if (!r.have_more_threads) next &= ~kParked;
          // release: pairs with the acquire in try_acquire() and in Signal::take() (a woken or
          // arriving waiter that takes a unit from the count).
          if (state_.compare_exchange_weak(s, next, std::memory_order_release,
                                           std::memory_order_relaxed)) {
            saw_multi = (next & kMulti) != 0 && rest != 0;
            break;
          }
        }
        return hand_off && released ? kTokenHandOff : kTokenRetry;
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
      // relaxed: under the engine lock, which every change of the word takes while MULTI is set.
      if (n > max_ - count_of(state_.load(std::memory_order_relaxed))) return false;
      // acq_rel: the engine's rule (src/multi_wait/engine_impl.hpp).
      state_.fetch_add(n, std::memory_order_acq_rel);
      route.dispatch(false);
      return true;
    }
  }
  return release(n);  // MULTI went away before the engine looked: release lock-free
}

// release()'s fetch_add has added n units, and the word it changed had PARKED or MULTI set,
// which were not there when it looked (a waiter parked, or a multi-object wait registered, in
// between): the units are in the count already.
template <class Sync, bool Spin>
void BasicSemaphore<Sync, Spin>::wake_after_release(std::uint32_t n) noexcept {
  bool multi = false;
  std::uint32_t to_wake = n;
  Sync::unpark_filter(
      this,
      [&](parking_lot::ParkToken) {
        if (to_wake == 0) return parking_lot::FilterOp::Stop;
        --to_wake;
        return parking_lot::FilterOp::Unpark;
      },
      [&](parking_lot::UnparkResult r) {
        // relaxed: under the bucket lock (the ordering of src/primitives/signal_wait.hpp).
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        multi = (s & kMulti) != 0;
        // Fair (and no multi-object waiter, whose engine keeps its own FIFO order): take one unit
        // back from the count for each woken thread and hand it over directly, so that no thread
        // that arrived meanwhile can take it first.
        if (r.unparked_threads != 0 && r.be_fair && !multi) {
          const auto woken = static_cast<std::uint64_t>(r.unparked_threads);
          while (count_of(s) >= woken) {
            std::uint64_t next = s - woken;
            if (!r.have_more_threads) next &= ~kParked;
            // acquire: pairs with the release RMW of whichever release() added these units; the
            // lot's unpark (release) carries them on to the woken threads.
            if (state_.compare_exchange_weak(s, next, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
              return kTokenHandOff;
            }
          }
        }
        // The units stay in the count: the woken threads look again, and compete with any
        // thread that arrives. Only PARKED is cleared, and only when nobody is queued.
        if (!r.have_more_threads) state_.fetch_and(~kParked, std::memory_order_relaxed);
        return kTokenRetry;
      });
  // A multi-object wait is registered: its engine hands the units out, in FIFO order, to multi-
  // and single-object waiters (it re-checks MULTI under its lock; if MULTI has gone, the units
  // stay in the count for the lock-free paths).
  if (multi) {
    const WaitTarget<Sync> target = wait_target();
    if (auto route = multi_engine<Sync>().route(target)) route.dispatch(false);
  }
}

template <class Sync, bool Spin>
struct BasicSemaphore<Sync, Spin>::Signal {
  using Word = BasicSemaphore::Word;
  static constexpr Word kParked = BasicSemaphore::kParked;
  static constexpr Word kMulti = BasicSemaphore::kMulti;

  BasicSemaphore& semaphore;
  typename Sync::template Atomic<Word>& word() noexcept { return semaphore.state_; }
  const void* key() const noexcept { return &semaphore; }
  WaitTarget<Sync> target() noexcept { return semaphore.wait_target(); }
  static bool signalled(Word s) noexcept { return BasicSemaphore::signalled(s); }
  bool take(Word& s) noexcept {
    // acquire: pairs with the release in release() / wake_after_release().
    return semaphore.state_.compare_exchange_weak(s, consumed(s), std::memory_order_acquire,
                                                  std::memory_order_relaxed);
  }
  // The releaser handed us a unit; it never touched the count.
  static bool granted(parking_lot::ParkToken t) noexcept { return t == kTokenHandOff; }
  bool last_look() noexcept { return semaphore.try_acquire(); }
};

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::acquire_slow(SteadyTime deadline) noexcept {
  return signal_wait<Sync, Spin>(Signal{*this}, deadline);
}

template <class Sync, bool Spin>
AsyncStep BasicSemaphore<Sync, Spin>::async_step(AsyncWaitNode<Sync>& node, bool woken) noexcept {
  return signal_wait_async<Sync>(Signal{*this}, node, woken);
}

template <class Sync, bool Spin>
bool BasicSemaphore<Sync, Spin>::async_cancel(AsyncWaitNode<Sync>& node) noexcept {
  return signal_cancel_async<Sync>(Signal{*this}, node);
}

}  // namespace exitleft::detail
