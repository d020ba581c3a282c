// RawEvent's slow paths. Included by src/primitives/instantiations.cpp (explicit instantiation for
// StdSync) and by the Relacy models (tests/model/), which instantiate them for RelacySync.
//
// Ordering: the argument of src/primitives/signal_wait.hpp, whose loop the waits use. The setters
// keep its side of it: signals are published by release RMWs on state_; while PARKED is set a
// setter changes the state only inside an unpark callback (under the bucket lock); PARKED is
// cleared only there, with an RMW on that bit alone.
#pragma once

#include "exitleft/detail/lot/broadcast.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/raw_event.hpp"
#include "src/primitives/signal_wait.hpp"

namespace exitleft::detail {

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

// The unpark filter of set_one and pulse_one: the first parked thread, unless a multi-object
// wait registered meanwhile (then nobody, and `redo` tells the caller to go through the engine).
template <class Sync, bool Spin>
auto BasicRawEvent<Sync, Spin>::first_unless_multi(bool& redo) noexcept {
  return [this, &redo, taken = false](parking_lot::ParkToken) mutable {
    if (taken) return parking_lot::FilterOp::Stop;
    // relaxed: under the bucket lock.
    if (state_.load(std::memory_order_relaxed) & kMulti) {
      redo = true;
      return parking_lot::FilterOp::Stop;
    }
    taken = true;
    return parking_lot::FilterOp::Unpark;
  };
}

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
    Sync::unpark_filter(this, first_unless_multi(redo),
                        [&](parking_lot::UnparkResult r) -> parking_lot::UnparkToken {
                          if (r.unparked_threads != 0) {
                            if (!r.have_more_threads) clear_parked();
                            return kTokenHandOff;
                          }
                          // PARKED was stale: its waiters timed out, or have not queued yet (they
                          // re-check under this lock and will find the event set), or this is a
                          // child after fork().
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
  Sync::unpark_filter(this, first_unless_multi(redo),
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
// rule (src/multi_wait/engine_impl.hpp).
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
struct BasicRawEvent<Sync, Spin>::Signal {
  using Word = BasicRawEvent::Word;
  static constexpr Word kParked = BasicRawEvent::kParked;
  static constexpr Word kMulti = BasicRawEvent::kMulti;

  BasicRawEvent& event;
  typename Sync::template Atomic<Word>& word() noexcept { return event.state_; }
  const void* key() const noexcept { return &event; }
  WaitTarget<Sync> target() noexcept { return event.wait_target(!Consume); }
  static bool signalled(Word s) noexcept { return BasicRawEvent::signalled(s); }
  bool take(Word& s) noexcept {
    if constexpr (!Consume) return true;  // wait_all observes
    // acquire: pairs with the release in set_one() / set_all() / try_set_bits().
    return event.state_.compare_exchange_weak(s, consumed(s), std::memory_order_acquire,
                                              std::memory_order_relaxed);
  }
  // A hand-off is ours already; a broadcast is what wait_all waits for.
  static bool granted(parking_lot::ParkToken t) noexcept {
    return t == kTokenHandOff || t == kTokenBroadcast;
  }
  bool last_look() noexcept { return Consume ? event.try_wait_one() : event.is_set(); }
};

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::wait_one_slow(SteadyTime deadline) noexcept {
  return signal_wait<Sync, Spin>(Signal<true>{*this}, deadline);
}

template <class Sync, bool Spin>
bool BasicRawEvent<Sync, Spin>::wait_all_slow(SteadyTime deadline) noexcept {
  return signal_wait<Sync, Spin>(Signal<false>{*this}, deadline);
}

template <class Sync, bool Spin>
template <bool Consume>
AsyncStep BasicRawEvent<Sync, Spin>::async_step(AsyncWaitNode<Sync>& node, bool woken) noexcept {
  return signal_wait_async<Sync>(Signal<Consume>{*this}, node, woken);
}

template <class Sync, bool Spin>
template <bool Consume>
bool BasicRawEvent<Sync, Spin>::async_cancel(AsyncWaitNode<Sync>& node) noexcept {
  return signal_cancel_async<Sync>(Signal<Consume>{*this}, node);
}

}  // namespace exitleft::detail
