// The smallest coroutine type the async tests need: starts at once, keeps its frame after it
// finishes (done() tells, from any thread: the flag is set once the coroutine is suspended at its
// end), and destroys it with the Task.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <utility>

namespace exitleft::test {

class Task {
 public:
  struct promise_type {
    Task get_return_object() noexcept {
      return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        // release: pairs with the acquire in done(); the frame is suspended by now.
        h.promise().finished.store(true, std::memory_order_release);
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
    std::atomic<bool> finished{false};
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }
  bool done() const noexcept {
    return handle_.promise().finished.load(std::memory_order_acquire);  // acquire: see Final
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace exitleft::test
