// BasicLotMutex's slow paths (see include/exitleft/detail/lot_mutex.hpp). Same ordering scheme as
// raw_event_impl.hpp: PARKED is announced with a CAS, re-checked by validate under the bucket
// lock, and cleared only under that lock.
#pragma once

#include "exitleft/detail/lot/lot_mutex.hpp"
#include "exitleft/detail/lot/wake_tokens.hpp"

namespace exitleft::detail {

template <class Sync>
void BasicLotMutex<Sync>::lock_slow() noexcept {
  BasicSpinWait<Sync> spin;
  std::uint8_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & kLocked)) {
      // acquire: pairs with the release in unlock() / unlock_slow(). Barging is allowed.
      if (state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s | kLocked),
                                       std::memory_order_acquire, std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    if (!(s & kParked)) {
      if (spin.spin()) {
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      // relaxed: validate re-checks under the bucket lock.
      if (!state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s | kParked),
                                        std::memory_order_relaxed, std::memory_order_relaxed)) {
        continue;
      }
    }
    const parking_lot::ParkResult r = Sync::park(
        this,
        [this] {
          // relaxed: under the bucket lock.
          return state_.load(std::memory_order_relaxed) == (kLocked | kParked);
        },
        [] {}, [](const void*, bool) {}, parking_lot::DEFAULT_PARK_TOKEN, kNoDeadline);
    // acquire: the hand-off's payload (the lock itself) came through the lot's release/acquire.
    if (r.kind == parking_lot::ParkResult::Kind::Unparked && r.token == kTokenHandOff) return;
    spin.reset();
    s = state_.load(std::memory_order_relaxed);
  }
}

template <class Sync>
void BasicLotMutex<Sync>::unlock_slow() noexcept {
  Sync::unpark_one(this, [this](parking_lot::UnparkResult r) -> parking_lot::UnparkToken {
    if (r.unparked_threads != 0 && r.be_fair) {
      // Fair hand-off: the lock stays held and passes to the woken thread.
      if (!r.have_more_threads) {
        // relaxed: under the bucket lock; the lot's release of the woken thread publishes.
        state_.store(kLocked, std::memory_order_relaxed);
      }
      return kTokenHandOff;
    }
    // release: pairs with the acquire in lock() / lock_slow().
    state_.store(r.have_more_threads ? kParked : 0, std::memory_order_release);
    return parking_lot::DEFAULT_UNPARK_TOKEN;
  });
}

}  // namespace exitleft::detail
