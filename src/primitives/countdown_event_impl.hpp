// CountdownEvent's slow paths. Ordering: the argument of src/primitives/signal_wait.hpp, whose loop
// wait() uses; the zero is reached (and PARKED cleared with it) by one RMW under the bucket lock.
#pragma once

#include "exitleft/countdown_event.hpp"
#include "exitleft/detail/lot/broadcast.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "src/primitives/signal_wait.hpp"

namespace exitleft::detail {

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
// every change: the engine's rule (src/multi_wait/engine_impl.hpp). Exceptions are thrown after the
// engine's lock is released.
template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::decrement_multi() {
  enum class Outcome { kRetry, kAtZero, kLowered, kReachedZero } outcome = Outcome::kRetry;
  {
    const WaitTarget<Sync> target = wait_target();
    auto route = multi_engine<Sync>().route(target);
    if (route) {
      // relaxed: under the engine lock, which every change of the word takes while MULTI is set.
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
    // relaxed: under the engine lock, which every change of the word takes while MULTI is set.
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
  // relaxed: under the engine lock, which every change of the word takes while MULTI is set.
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
struct BasicCountdownEvent<Sync, Spin>::Signal {
  using Word = BasicCountdownEvent::Word;
  static constexpr Word kParked = BasicCountdownEvent::kParked;
  static constexpr Word kMulti = BasicCountdownEvent::kMulti;

  BasicCountdownEvent& countdown;
  typename Sync::template Atomic<Word>& word() noexcept { return countdown.state_; }
  const void* key() const noexcept { return &countdown; }
  WaitTarget<Sync> target() noexcept { return countdown.wait_target(); }
  static bool signalled(Word s) noexcept { return BasicCountdownEvent::signalled(s); }
  static bool take(Word&) noexcept { return true; }  // waits observe the zero
  bool granted(parking_lot::ParkToken t) noexcept {
    if (t != kTokenBroadcast) return false;
    // acquire: pairs with the release RMW of every decrement (and reset) before the 0 that woke
    // us, not only the waker's: the lot's wake-up orders us after the waker alone, whose RMW read
    // the others' decrements without acquiring them. Every change of state_ is an RMW, so
    // whatever value this reads continues their release sequences. (The Relacy model
    // countdown.rounds finds the race without this load.)
    (void)countdown.state_.load(std::memory_order_acquire);
    return true;
  }
  bool last_look() noexcept { return countdown.try_wait(); }
};

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::wait_slow(SteadyTime deadline) noexcept {
  return signal_wait<Sync, Spin>(Signal{*this}, deadline);
}

template <class Sync, bool Spin>
AsyncStep BasicCountdownEvent<Sync, Spin>::async_step(AsyncWaitNode<Sync>& node,
                                                      bool woken) noexcept {
  return signal_wait_async<Sync>(Signal{*this}, node, woken);
}

template <class Sync, bool Spin>
bool BasicCountdownEvent<Sync, Spin>::async_cancel(AsyncWaitNode<Sync>& node) noexcept {
  return signal_cancel_async<Sync>(Signal{*this}, node);
}

}  // namespace exitleft::detail
