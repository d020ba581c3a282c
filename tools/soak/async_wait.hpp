// exitleft-soak: a coroutine's wait, as a thread drives one: co_await async_wait / async_acquire
// with a std::stop_token, and a stop requested when the timeout passes. The coroutine may
// complete on another thread (the set() or release() that hands it the signal); the thread waits
// until it has, so every outcome is booked exactly once (A4: a stop never loses a signal).
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <stop_token>
#include <utility>

#include "exitleft/async.hpp"

namespace exitleft::soak {

// MinGW-w64's libstdc++ (GCC 12) hangs when ~std::stop_callback races request_stop(): its
// binary_semaphore notifies a condition variable without the mutex, and the destructor's wait for
// the running callback can miss the wake-up (reproduced with std::stop_callback alone under
// Wine). The coroutine waits below race exactly that, so the soak leaves them out there.
#if defined(_WIN32) && defined(__GLIBCXX__)
inline constexpr bool kCoroutineWaits = false;
#else
inline constexpr bool kCoroutineWaits = true;
#endif

// A coroutine that starts at once; `finished` is set once it is suspended at its end, after
// which the thread that owns it may destroy it.
struct SoakTask {
  struct promise_type {
    ManualResetEvent* finished = nullptr;
    SoakTask get_return_object() noexcept {
      return SoakTask{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        h.promise().finished->set();  // the frame is suspended: the owner may destroy it now
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit SoakTask(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
  SoakTask(SoakTask&& other) noexcept : handle(std::exchange(other.handle, {})) {}
  SoakTask& operator=(SoakTask&&) = delete;
  ~SoakTask() {
    if (handle) handle.destroy();
  }
  std::coroutine_handle<promise_type> handle;
};

// co_await `wait(stop_token)` on a coroutine; request stop after `timeout`. Returns what the
// co_await yielded (true: signalled, and consumed where the object consumes).
template <class MakeAwaitable>
bool coroutine_wait_for(MakeAwaitable make, std::chrono::nanoseconds timeout) {
  ManualResetEvent finished;
  std::stop_source stop;
  bool result = false;
  auto body = [&]() -> SoakTask { result = co_await make(stop.get_token()); };
  SoakTask task = body();
  task.handle.promise().finished = &finished;
  task.handle.resume();  // runs until it completes or suspends in the wait
  if (!finished.wait_for(timeout)) {
    stop.request_stop();  // completes it here, unless the signal was handed over already
    finished.wait();
  }
  return result;
}

}  // namespace exitleft::soak
