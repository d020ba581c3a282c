// RawEvent's slow paths. Included by src/events.cpp (explicit instantiation for StdSync) and by
// the Relacy models (tests/model/), which instantiate them for RelacySync.
//
// Ordering argument, once for the whole file:
// - The signal's payload is published by release RMWs on state_ (set_one, set_all, the CAS
//   loops below) and received by acquire RMWs/loads (consume, is_set), or, for a hand-off, by
//   the lot: the unparker's callback runs under the bucket lock and the lot releases the woken
//   thread with a release store that the thread acquires.
// - PARKED is set by a waiter with a relaxed CAS and re-checked by `validate` under the bucket
//   lock; every change a setter makes while PARKED is set happens under that same lock (inside
//   an unpark callback) or is an RMW the waiter's validate cannot miss. So a waiter either sees
//   the set in validate (and does not sleep) or is queued before the setter looks (and is woken).
// - Clearing PARKED only ever happens under the bucket lock, by whoever knows that no thread is
//   queued any more (an unparker that emptied the queue, the last waiter timing out), and only
//   with fetch_and / CAS on that bit: a concurrent set (AVAILABLE) is never erased (E4).
#pragma once

#include "exitleft/detail/broadcast.hpp"
#include "exitleft/detail/multi_wait.hpp"
#include "exitleft/raw_event.hpp"

namespace exitleft::detail {

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::should_park() const noexcept {
  // relaxed: runs under the bucket lock; see the ordering argument above.
  return (state_.load(std::memory_order_relaxed) & (kAvailable | kParked)) == kParked;
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::consume(std::uint8_t observed) noexcept {
  while (observed & kAvailable) {
    if (observed & kMulti) {
      if (const auto taken = multi_engine<Sync>().single_try(wait_target(false))) {
        return *taken;
      }
      observed = state_.load(std::memory_order_relaxed);  // MULTI went away: take it lock-free
      continue;
    }
    // acquire: pairs with the release in set_one() / set_one_slow() / set_all().
    if (state_.compare_exchange_weak(observed, static_cast<std::uint8_t>(observed & ~kAvailable),
                                     std::memory_order_acquire, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

// Inside the lot callbacks below, a MULTI bit that appeared meanwhile means "make no change
// here": the operation is redone under the multi-wait engine, which serves single waiters and
// multi-waiters in one FIFO order.

template <class Sync, bool Spin>
void BasicRawEvent<Sync, Spin>::set_one_slow(std::uint8_t observed) noexcept {
  for (;;) {
    if (observed & kMulti) {
      if (set_multi(true)) return;
      // MULTI went away before the engine looked: set it lock-free
      observed = state_.load(std::memory_order_relaxed);
      continue;
    }
    if (observed & kAvailable) return;  // already set: the event is a boolean, not a counter
    if (!(observed & kParked)) {
      if (try_set_bits(observed, kAvailable, 0)) return;
      continue;
    }
    // Someone is parked: hand the signal to the first waiter under its bucket lock (E3), so
    // that the event never becomes available to a thread arriving meanwhile.
    bool redo = false;
    bool taken = false;
    Sync::unpark_filter(
        this,
        [&](parking_lot::ParkToken) {
          // relaxed: under the bucket lock.
          if (taken) return parking_lot::FilterOp::Stop;
          if (state_.load(std::memory_order_relaxed) & kMulti) {
            redo = true;
            return parking_lot::FilterOp::Stop;
          }
          taken = true;
          return parking_lot::FilterOp::Unpark;
        },
        [&](parking_lot::UnparkResult r) -> parking_lot::UnparkToken {
          if (r.unparked_threads != 0) {
            if (!r.have_more_threads) clear_parked();
            return kTokenHandOff;
          }
          // PARKED was stale: its waiters timed out, or have not queued yet (they re-check
          // under this lock and will find the event set), or this is a child after fork().
          if (!redo && !set_bits_unless_multi(kAvailable, kParked)) redo = true;
          return parking_lot::DEFAULT_UNPARK_TOKEN;
        });
    if (!redo) return;
    observed = state_.load(std::memory_order_relaxed);
  }
}

template <class Sync, bool Spin>
void BasicRawEvent<Sync, Spin>::set_all_slow(std::uint8_t observed) noexcept {
  for (;;) {
    if (observed & kMulti) {
      if (set_multi(false)) return;
      // MULTI went away before the engine looked: set it lock-free
      observed = state_.load(std::memory_order_relaxed);
      continue;
    }
    if ((observed & (kAvailable | kParked)) == kAvailable) return;  // already set, nobody parked
    if (!(observed & kParked)) {
      if (try_set_bits(observed, kAvailable, 0)) return;
      continue;
    }
    // Set and wake as one step under the bucket lock (see detail/broadcast.hpp).
    bool redo = false;
    broadcast_if<Sync>(
        this,
        [&] {
          if (set_bits_unless_multi(kAvailable, kParked)) return true;
          redo = true;
          return false;
        },
        kTokenBroadcast);
    if (!redo) return;
    observed = state_.load(std::memory_order_relaxed);
  }
}

template <class Sync, bool Spin>
void BasicRawEvent<Sync, Spin>::pulse_one_slow() noexcept {
  bool redo = false;
  bool taken = false;
  Sync::unpark_filter(
      this,
      [&](parking_lot::ParkToken) {
        if (taken) return parking_lot::FilterOp::Stop;
        // relaxed: under the bucket lock.
        if (state_.load(std::memory_order_relaxed) & kMulti) {
          redo = true;
          return parking_lot::FilterOp::Stop;
        }
        taken = true;
        return parking_lot::FilterOp::Unpark;
      },
      [&](parking_lot::UnparkResult r) -> parking_lot::UnparkToken {
        if (r.unparked_threads != 0 ? !r.have_more_threads : !redo) clear_parked();
        return kTokenHandOff;
      });
  if (redo && !pulse_multi(true)) pulse(true);  // MULTI went away again: pulse lock-free
}

template <class Sync, bool Spin>
void BasicRawEvent<Sync, Spin>::pulse_all_slow() noexcept {
  // Whoever is queued at this moment was parked when the pulse happened: wake them all.
  bool redo = false;
  broadcast_if<Sync>(
      this,
      [&] {
        // relaxed: under the bucket lock.
        if (state_.load(std::memory_order_relaxed) & kMulti) {
          redo = true;
          return false;
        }
        clear_parked();
        return true;
      },
      kTokenBroadcast);
  if (redo && !pulse_multi(false)) pulse(false);  // MULTI went away again: pulse lock-free
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::try_set_bits(std::uint8_t& observed, std::uint8_t set,
                                             std::uint8_t clear) noexcept {
  // release: pairs with the acquire in try_wait_one() / consume() / is_set() / wait_slow().
  return state_.compare_exchange_weak(observed,
                                      static_cast<std::uint8_t>((observed | set) & ~clear),
                                      std::memory_order_release, std::memory_order_relaxed);
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::set_bits_unless_multi(std::uint8_t set,
                                                      std::uint8_t clear) noexcept {
  std::uint8_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (s & kMulti) return false;
    if (try_set_bits(s, set, clear)) return true;
  }
}

template <class Sync, bool Spin>
void BasicRawEvent<Sync, Spin>::clear_parked() noexcept {
  // relaxed: only called under the bucket lock, which orders it with every validate.
  state_.fetch_and(static_cast<std::uint8_t>(~kParked), std::memory_order_relaxed);
}

// Each returns false, changing nothing, if the engine found MULTI clear (multi_wait.hpp): the
// caller then redoes the operation on its lock-free path. acq_rel on every change: the engine's
// rule (src/multi_wait_impl.hpp).
template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::set_multi(bool one) noexcept {
  // set_one hands its one signal to the first waiter; set_all is observed by all of them.
  const WaitTarget<Sync> target = wait_target(!one);
  auto route = multi_engine<Sync>().route(target);
  if (!route) return false;
  state_.fetch_or(kAvailable, std::memory_order_acq_rel);
  route.dispatch(!one);
  return true;
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::pulse_multi(bool one) noexcept {
  const WaitTarget<Sync> target = wait_target(!one);
  auto route = multi_engine<Sync>().route(target);
  if (!route) return false;
  // The event is signalled for exactly the waiters there now, then unset.
  state_.fetch_or(kAvailable, std::memory_order_acq_rel);
  route.dispatch(!one);
  state_.fetch_and(static_cast<std::uint8_t>(~kAvailable), std::memory_order_acq_rel);
  return true;
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::reset_multi() noexcept {
  const WaitTarget<Sync> target = wait_target(false);
  auto route = multi_engine<Sync>().route(target);
  if (!route) return false;
  state_.fetch_and(static_cast<std::uint8_t>(~kAvailable), std::memory_order_acq_rel);
  return true;
}

template <class Sync, bool Spin>
template <bool Consume>
bool BasicRawEvent<Sync, Spin>::wait_slow(SteadyTime deadline) noexcept {
  BasicSpinWait<Sync, SpinTail::Pause> spin;  // a signal wait: no sched_yield (basic_spin_wait.hpp)
  // acquire: pairs with the release in set_one() / set_all() (used when !Consume).
  std::uint8_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    parking_lot::ParkToken token = parking_lot::DEFAULT_PARK_TOKEN;
    if (s & kMulti) {
      // A multi-object wait is registered: take the signal, or queue, through the engine.
      const auto a = multi_engine<Sync>().single_attempt(wait_target(!Consume));
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kSignalled) return true;
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kRetry) {  // MULTI went away: lock-free
        s = state_.load(std::memory_order_acquire);
        continue;
      }
      if (deadline != kNoDeadline && deadline <= Sync::now()) return false;
      token = static_cast<parking_lot::ParkToken>(a.token);
    } else if (s & kAvailable) {
      if constexpr (!Consume) return true;
      if (consume(s)) return true;
      s = state_.load(std::memory_order_acquire);
      continue;
    } else if (deadline != kNoDeadline && deadline <= Sync::now()) {
      return false;
    } else if (!(s & kParked)) {
      // Nobody is parked: spin a little, a set may be moments away. (With waiters parked a set
      // goes to them first, so spinning would not help.)
      if (Spin && spin.spin()) {
        s = state_.load(std::memory_order_acquire);
        continue;
      }
      // acquire (on failure): the state we look at next may be a set to observe, as the loads
      // above. Setting PARKED itself needs no order: validate re-checks under the bucket lock.
      if (!state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s | kParked),
                                        std::memory_order_acquire, std::memory_order_acquire)) {
        continue;
      }
    }
    // The park token orders this waiter among multi-object waits (multi_wait.hpp).
    const parking_lot::ParkResult r = Sync::park(
        this, [this] { return should_park(); }, [] {},
        [this](const void*, bool was_last) {
          // Only PARKED is cleared: a set that raced with this timeout stays set (rsevents 0.3.1
          // stored 0 here and erased it).
          if (was_last) clear_parked();
        },
        token, deadline);
    if (r.kind == parking_lot::ParkResult::Kind::Unparked &&
        (r.token == kTokenHandOff || r.token == kTokenBroadcast)) {
      return true;  // a hand-off is ours already; a broadcast is what wait_all waits for
    }
    if (r.kind == parking_lot::ParkResult::Kind::TimedOut) {
      // One last look: a signal that arrived after the timeout is still taken.
      s = state_.load(std::memory_order_acquire);
      if constexpr (Consume) return (s & kAvailable) != 0 && consume(s);
      return (s & kAvailable) != 0;
    }
    spin.reset();
    s = state_.load(std::memory_order_acquire);
  }
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::wait_one_slow(SteadyTime deadline) noexcept {
  return wait_slow<true>(deadline);
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::wait_all_slow(SteadyTime deadline) noexcept {
  return wait_slow<false>(deadline);
}

}  // namespace exitleft::detail
