// The lock of one bucket of the parking lot: a three-state mutex on one 32-bit word, waiting
// through the sync policy's wait-on-address (part of the lot's protocol, src/lot/lot.hpp).
#pragma once

#include <cassert>
#include <cstdint>

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/parking_lot.hpp"

namespace exitleft::parking_lot::detail {

using exitleft::detail::kNoDeadline;

// A three-state mutex on one 32-bit word (0 unlocked, 1 locked, 2 locked with sleepers),
// waiting through the sync policy's wait-on-address. Guards one bucket.
template <class Sync>
class WordLock {
 public:
  void lock() noexcept {
    std::uint32_t expected = kUnlocked;
    // acquire: pairs with the release exchange in unlock().
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return;
    }
    lock_slow();
  }

  void unlock() noexcept {
    // release: pairs with the acquire RMWs in lock() and lock_slow().
    const std::uint32_t was = state_.exchange(kUnlocked, std::memory_order_release);
    assert(was != kUnlocked && "a bucket lock unlocked twice");
    if (was == kContended) Sync::wake_one(&state_);
  }

 private:
  static constexpr std::uint32_t kUnlocked = 0, kLocked = 1, kContended = 2;

  void lock_slow() noexcept {
    exitleft::detail::BasicSpinWait<Sync> spin;
    for (;;) {
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      // acquire: pairs with the release exchange in unlock().
      if (s == kUnlocked && state_.compare_exchange_weak(s, kLocked, std::memory_order_acquire,
                                                         std::memory_order_relaxed)) {
        return;
      }
      // Spin only while nobody sleeps: once someone does, unlock() will wake a sleeper anyway.
      if (s == kContended || !spin.spin()) break;
    }
    // acquire: pairs with the release exchange in unlock(). Marking the word contended before
    // sleeping makes the holder's unlock() wake us.
    while (state_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
      Sync::wait(state_, kContended, kNoDeadline);
    }
  }

  typename Sync::template Atomic<std::uint32_t> state_{kUnlocked};
};

}  // namespace exitleft::parking_lot::detail
