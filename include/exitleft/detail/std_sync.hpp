// The sync policy the library runs with.
//
// exitleft's core algorithms (the parking lot's protocol, RawEvent's state machine, Stage's
// head hand-off) are templates over a "sync policy" so that the same code runs on std::atomic
// in the library and on Relacy's rl::atomic in the model tests (tests/model/). A policy
// provides:
//
//   template <class T> using Atomic   std::atomic-like: load/store/exchange/compare_exchange_*/
//                                     fetch_* taking std::memory_order
//   template <class T> class Var      a plain variable guarded by something else (a lock, a
//                                     happens-before edge): load() / store(v); Relacy checks
//                                     every access for data races
//   pause(), yield(), multi_core()    spinning
//   now()                             steady-clock time (for be_fair and deadlines)
//   park / unpark_one / unpark_all /  the parking lot (primitives only)
//   unpark_requeue / unpark_filter
//   park_async / cancel_async         a coroutine's node queued instead of a sleeping thread
//   enter_library_lock /              bracket a library lock held while unparking (the
//   leave_library_lock                multi-wait engine's): coroutines resume after it
//
// The lot core itself additionally takes wait / wake_one / wake_all on a 32-bit word (the
// platform layer); that policy lives with the lot's sources.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "exitleft/detail/cpu_relax.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/function_ref.hpp"
#include "exitleft/parking_lot.hpp"

namespace exitleft::parking_lot::detail {
template <class Sync>
struct ThreadData;  // src/lot/thread_data.hpp
}  // namespace exitleft::parking_lot::detail

namespace exitleft::detail {

struct StdSync {
  template <class T>
  using Atomic = std::atomic<T>;

  template <class T>
  class Var {
   public:
    constexpr Var() noexcept = default;
    constexpr explicit Var(T value) noexcept : value_(value) {}
    T load() const noexcept { return value_; }
    void store(T value) noexcept { value_ = value; }

   private:
    T value_{};
  };

  // `n` CPU pauses: one spin round (basic_spin_wait.hpp).
  static void pause(std::uint32_t n) noexcept {
    for (std::uint32_t i = 0; i < n; ++i) cpu_relax();
  }
  static void yield() noexcept { std::this_thread::yield(); }
  static bool multi_core() noexcept {
    // A constant-initialised cache, not a function-local static: a fork() while another thread
    // ran a static's first initialisation would leave its guard "in progress" in the child,
    // and the child's first spinning wait would block forever. Racing first calls all store
    // the same value. relaxed: nothing else is published through this byte.
    signed char value = multi_core_cache.load(std::memory_order_relaxed);
    if (value < 0) {
      value = std::thread::hardware_concurrency() > 1 ? 1 : 0;
      multi_core_cache.store(value, std::memory_order_relaxed);
    }
    return value != 0;
  }
  static inline std::atomic<signed char> multi_core_cache{-1};  // -1: not known yet
  static std::chrono::steady_clock::time_point now() noexcept {
    return std::chrono::steady_clock::now();
  }

  template <class Validate, class BeforeSleep, class TimedOut>
  static parking_lot::ParkResult park(const void* key, Validate&& validate,
                                      BeforeSleep&& before_sleep, TimedOut&& timed_out,
                                      parking_lot::ParkToken token,
                                      std::chrono::steady_clock::time_point deadline) noexcept {
    return parking_lot::detail::park(key, validate, before_sleep, timed_out, token, deadline);
  }
  template <class Callback>
  static parking_lot::UnparkResult unpark_one(const void* key, Callback&& callback) noexcept {
    return parking_lot::detail::unpark_one(key, callback);
  }
  static std::size_t unpark_all(const void* key, parking_lot::UnparkToken token) noexcept {
    return parking_lot::unpark_all(key, token);
  }
  template <class Validate, class Callback>
  static parking_lot::UnparkResult unpark_requeue(const void* from, const void* to,
                                                  Validate&& validate,
                                                  Callback&& callback) noexcept {
    return parking_lot::detail::unpark_requeue(from, to, validate, callback);
  }
  template <class Filter, class Callback>
  static parking_lot::UnparkResult unpark_filter(const void* key, Filter&& filter,
                                                 Callback&& callback) noexcept {
    return parking_lot::detail::unpark_filter(key, filter, callback);
  }

  // Awaitable waits (src/async/): queues a coroutine's node on `key` if `validate()` holds under
  // the bucket lock (true: queued), and takes it off again if no unparker has (true: removed;
  // `removed(key, was_last)` ran under the lock). Defined in src/lot/parking_lot.cpp.
  using LotNode = parking_lot::detail::ThreadData<StdSync>;
  static bool park_async(LotNode& node, const void* key, FunctionRef<bool()> validate,
                         parking_lot::ParkToken token) noexcept;
  static bool cancel_async(LotNode& node, const void* key,
                           FunctionRef<void(const void*, bool)> removed) noexcept;
  // Around a library lock held while unparking (the multi-wait engine's): coroutines woken
  // meanwhile resume after the outermost one is left (src/async/async_wait.cpp).
  static void enter_library_lock() noexcept;
  static void leave_library_lock() noexcept;

  // What the lot itself sleeps on: 32-bit words, through the platform's wait-on-address. Only the
  // lot calls these; they are defined in src/lot/parking_lot.cpp, where it is compiled.
  using Word = std::atomic<std::uint32_t>;
  static bool wait(const Word& word, std::uint32_t expected, SteadyTime deadline) noexcept;
  static void wake_one(const Word* word) noexcept;
  static void wake_all(const Word* word) noexcept;
  // Group wake-ups where the platform can wait on two words at once (Linux: futex_waitv);
  // nullptr elsewhere.
  static Word* group_word(std::uintptr_t key) noexcept;
  static bool wait_either(const Word& a, std::uint32_t expected_a, const Word& b,
                          std::uint32_t expected_b, SteadyTime deadline) noexcept;

  // Same-CPU hand-offs (src/lot/lot.hpp): the CPU this thread runs on (-1: unknown); the lot
  // tells a woken thread where its unparker ran; and whether this thread's last wake-up from the
  // lot came from a thread on its own CPU (then the signal waits skip their spin).
  static int current_cpu() noexcept;
  static void note_wake(int waker_cpu) noexcept;
  static bool woken_beside_waker() noexcept;
};

}  // namespace exitleft::detail
