// A one-byte mutex on the parking lot (after Rust parking_lot's RawMutex), for exitleft's own
// short critical sections (Stage's waiter queue, token table shards and buffer): no std::mutex.
//
// - lock(): one compare-exchange when free; otherwise spins briefly while nobody is parked, then
//   parks on the mutex's address.
// - unlock(): one compare-exchange when nobody is parked; otherwise wakes the first parked
//   thread. Normally the lock is released and the woken thread competes for it (a running thread
//   may take it first: throughput); about every 0.5 ms (the lot's be_fair) it is handed directly
//   to the woken thread instead, so no thread starves.
#pragma once

#include <cstdint>

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft::detail {

template <class Sync>
class BasicLotMutex {
 public:
  static constexpr std::uint8_t kLocked = 1;
  static constexpr std::uint8_t kParked = 2;

  constexpr BasicLotMutex() noexcept = default;
  BasicLotMutex(const BasicLotMutex&) = delete;
  BasicLotMutex& operator=(const BasicLotMutex&) = delete;

  void lock() noexcept {
    std::uint8_t expected = 0;
    // acquire: pairs with the release in unlock() / unlock_slow().
    if (!state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      lock_slow();
    }
  }

  bool try_lock() noexcept {
    std::uint8_t s = state_.load(std::memory_order_relaxed);
    while (!(s & kLocked)) {
      // acquire: as in lock().
      if (state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s | kLocked),
                                       std::memory_order_acquire, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  void unlock() noexcept {
    std::uint8_t expected = kLocked;
    // release: pairs with the acquire in lock() / try_lock() / lock_slow().
    if (!state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                        std::memory_order_relaxed)) {
      unlock_slow();
    }
  }

  bool is_locked() const noexcept { return state_.load(std::memory_order_relaxed) & kLocked; }

 private:
  void lock_slow() noexcept;    // src/lot/lot_mutex_impl.hpp
  void unlock_slow() noexcept;  // src/lot/lot_mutex_impl.hpp

  typename Sync::template Atomic<std::uint8_t> state_{0};
};

extern template class EXITLEFT_EXPORT BasicLotMutex<StdSync>;

using LotMutex = BasicLotMutex<StdSync>;

// std::lock_guard for the lot mutex (std::lock_guard would do, but this keeps <mutex> out).
template <class Mutex>
class LotGuard {
 public:
  explicit LotGuard(Mutex& m) noexcept : m_(m) { m_.lock(); }
  ~LotGuard() { m_.unlock(); }
  LotGuard(const LotGuard&) = delete;
  LotGuard& operator=(const LotGuard&) = delete;

 private:
  Mutex& m_;
};

}  // namespace exitleft::detail
