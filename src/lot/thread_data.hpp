// What the parking lot keeps per thread (part of the lot's protocol, src/lot/lot.hpp).
#pragma once

#include <cstdint>

#include "src/lot/word_lock.hpp"

namespace exitleft::parking_lot::detail {

// Per-thread parking state. Lives as long as its thread (thread_local in the library).
//
// An awaiting coroutine queues one too (src/async/async_node.hpp): a ThreadData that lives in the
// coroutine's awaiter and has `on_unpark` set. It never sleeps; an unparker calls `on_unpark`
// instead of waking a thread, after it dropped the bucket lock.
template <class Sync>
struct ThreadData {
  template <class T>
  using Atomic = typename Sync::template Atomic<T>;
  template <class T>
  using Var = typename Sync::template Var<T>;

  // Whether the policy offers group wake-ups: group_word(key) (nullptr when the platform
  // cannot) and wait_either(a, expected_a, b, expected_b, deadline).
  static constexpr bool kGroupWakeUps = requires(std::uintptr_t key) { Sync::group_word(key); };

  // 1 from the moment the thread queues itself until an unparker releases it.
  Atomic<std::uint32_t> parked{0};
  // The key the thread is parked on. Atomic because a timed-out thread reads it before it holds
  // the bucket lock; it only changes under the bucket lock (park, unpark_requeue).
  Atomic<std::uintptr_t> key{0};
  // The group word this thread sleeps on besides `parked` (group wake-ups, above), or nullptr.
  // Written by the thread under the bucket lock when it queues itself, read by its unparker.
  Var<Atomic<std::uint32_t>*> group{nullptr};
  // Guarded by the bucket lock while queued, then owned by the unparker until release().
  Var<ThreadData*> next{nullptr};
  Var<ParkToken> park_token{0};
  Var<UnparkToken> unpark_token{0};
  Var<bool> queued{false};
  // The CPU its unparker ran on when it took this thread off the queue (the policy's
  // current_cpu(), -1 if unknown). Written under the bucket lock, read by the thread once
  // released (the release store of 0 in `parked` publishes it): a hint for spinning, lot.hpp.
  Var<int> waker_cpu{-1};
  // Set for a queued coroutine (above): called instead of release(), as its last touch by the
  // unparker. nullptr for a thread.
  using OnUnpark = void (*)(ThreadData*) noexcept;
  Var<OnUnpark> on_unpark{nullptr};

  // Sleeps until an unparker releases this thread or `deadline` passes; true if released.
  bool sleep_until(Deadline deadline) noexcept {
    Atomic<std::uint32_t>* const g = group.load();
    for (;;) {
      std::uint32_t seen_group = 0;
      // acquire: pairs with the release RMW in WakeList::release_all(), after the unparker's store
      // of 0 in `parked`: a bumped value read here makes that 0 visible below.
      if (g != nullptr) seen_group = g->load(std::memory_order_acquire);
      // acquire: pairs with the release store in release() / release_quietly(); makes
      // unpark_token visible.
      if (parked.load(std::memory_order_acquire) == 0) return true;
      bool woken;
      if constexpr (kGroupWakeUps) {
        woken = g != nullptr ? Sync::wait_either(parked, 1, *g, seen_group, deadline)
                             : Sync::wait(parked, 1, deadline);
      } else {
        woken = Sync::wait(parked, 1, deadline);
      }
      if (!woken) return parked.load(std::memory_order_acquire) == 0;  // acquire: as above
    }
  }

  // Called by the unparker after it dropped the bucket lock. Last touch of this ThreadData.
  void release() noexcept {
    // release: pairs with the acquire loads in sleep_until(); publishes unpark_token.
    parked.store(0, std::memory_order_release);
    Sync::wake_one(&parked);
  }
  // release() without the wake-up: the caller wakes the thread's group afterwards. Last touch.
  void release_quietly() noexcept {
    parked.store(0, std::memory_order_release);  // release: as in release()
  }
};

}  // namespace exitleft::parking_lot::detail
