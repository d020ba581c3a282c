/// @file
/// exitleft/async.hpp — coroutines co_await the same events, semaphores and countdowns that
/// threads block on.
///
///     exitleft::AutoResetEvent ready;
///     task consumer() {
///       if (co_await exitleft::async_wait(ready)) { /* signalled: the signal is ours */ }
///     }
///
/// `co_await` yields true when the object was signalled for this waiter (AutoResetEvent and
/// Semaphore: the signal or unit is consumed) and false when stop was requested first.
///
/// What it guarantees (docs/guarantees.md, "Awaitable waits"):
/// - A1 One queue: coroutines and threads waiting on one object are served in one FIFO order,
///   and E1-E5 hold for any mix; a late thread cannot take a hand-off meant for a coroutine, nor
///   the reverse.
/// - A2 An object that is signalled already completes the co_await without suspending.
/// - A3 A coroutine resumes on the thread that signals it, inside set() / release() /
///   decrement() / reset(0) / pulse(), after that call released every lock of the library (or on
///   the thread that requests stop); through the scheduler when one is given. Never nested: a
///   resumed coroutine that signals again has that resumption queued, and the outermost call runs
///   it after the first returns, so a chain of any length runs in constant stack.
/// - A4 Cancellation through the std::stop_token never loses or duplicates a signal: a stop
///   requested before the signal was handed over yields false and consumes nothing; a waiter
///   already handed the signal yields true.
/// - A5 Nothing is allocated per wait (the awaiter lives in the coroutine frame); the objects do
///   not grow.
/// - A6 Destroying a coroutine frame suspended in one of these waits, without cancelling it and
///   letting it finish, is a precondition violation (asserted in debug builds).
///
/// How: the awaiter holds a node that the parking lot queues in the same FIFO as parked threads;
/// an unparker hands it the signal as it would a thread, and after dropping its locks calls the
/// node instead of waking a thread (docs/architecture.md, "Awaitable waits").
#pragma once

#include <cassert>
#include <concepts>
#include <coroutine>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/detail/async_wait.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "exitleft/semaphore.hpp"

namespace exitleft {
namespace detail {

/// How each object is awaited: its kind, and the try that A2 completes with.
template <class Object>
struct AsyncOps;
/// AutoResetEvent: consumes.
template <>
struct AsyncOps<AutoResetEvent> {
  static constexpr AsyncKind kKind = AsyncKind::kAutoReset;  ///< the library's name for it
  /// Takes the signal if it is there.
  static bool try_now(AutoResetEvent& e) noexcept { return e.try_wait(); }
};
/// ManualResetEvent: observes.
template <>
struct AsyncOps<ManualResetEvent> {
  static constexpr AsyncKind kKind = AsyncKind::kManualReset;  ///< the library's name for it
  /// Is it set (acquire)?
  static bool try_now(ManualResetEvent& e) noexcept { return e.raw().is_set(); }
};
/// CountdownEvent: observes the zero.
template <>
struct AsyncOps<CountdownEvent> {
  static constexpr AsyncKind kKind = AsyncKind::kCountdown;  ///< the library's name for it
  /// Is the count 0 (acquire)?
  static bool try_now(CountdownEvent& c) noexcept { return c.try_wait(); }
};
/// Semaphore: takes a unit.
template <>
struct AsyncOps<Semaphore> {
  static constexpr AsyncKind kKind = AsyncKind::kSemaphore;  ///< the library's name for it
  /// Takes a unit if there is one.
  static bool try_now(Semaphore& s) noexcept { return s.try_acquire(); }
};

/// The default scheduler: resume on the thread that completes the wait.
struct ResumeInline {
  /// Resumes `h` here.
  void operator()(std::coroutine_handle<> h) const { h.resume(); }
};

template <class Scheduler>
concept CoroutineScheduler = std::invocable<Scheduler&, std::coroutine_handle<>>;

/// What async_wait / async_acquire return: co_await it once.
template <class Object, class Scheduler>
class [[nodiscard]] Awaitable {
 public:
  /// A wait on `object`, resumed through `scheduler`, cancelled by `stop`.
  Awaitable(Object& object, Scheduler scheduler,
            std::stop_token stop) noexcept(std::is_nothrow_move_constructible_v<Scheduler>)
      : object_(object), scheduler_(std::move(scheduler)), stop_(std::move(stop)) {}
  Awaitable(const Awaitable&) = delete;
  Awaitable& operator=(const Awaitable&) = delete;
  ~Awaitable() {
    assert(!pending_ &&
           "exitleft: a coroutine frame was destroyed while suspended in an async wait (A6): "
           "request stop and let the wait complete first");
  }

  /// A2: signalled already (or stop requested already): no suspension.
  bool await_ready() noexcept {
    if (stop_.stop_requested()) return finish(false);
    if (AsyncOps<Object>::try_now(object_)) return finish(true);  // A2
    return false;
  }
  /// Queues the wait; false if it completed at once after all.
  bool await_suspend(std::coroutine_handle<> handle) noexcept {
    handle_ = handle;
    async_wait_init(storage_, AsyncOps<Object>::kKind, &object_, &complete, this);
    pending_ = true;
    // A stop requested from now on cancels the node (at once if it was requested meanwhile:
    // the start below then sees it).
    if (stop_.stop_possible()) stop_callback_.emplace(stop_, Cancel{&storage_});
    const AsyncStep step = async_wait_start(storage_);
    if (step == AsyncStep::kQueued) return true;  // may be resumed, and *this gone, already
    pending_ = false;
    result_ = step == AsyncStep::kSignalled;
    return false;
  }
  /// true: signalled (consumed where the object consumes); false: stop was requested first.
  bool await_resume() noexcept {
    stop_callback_.reset();  // waits for a stop callback running on another thread
    return result_;
  }

 private:
  struct Cancel {
    AsyncWaitStorage* storage;
    void operator()() const noexcept { async_wait_cancel(*storage); }
  };

  bool finish(bool result) noexcept {
    result_ = result;
    return true;
  }
  // The library calls this once, outside its locks (A3). The coroutine may destroy *this as
  // soon as it runs: take what is needed first.
  static void complete(void* context, bool signalled) noexcept {
    auto* self = static_cast<Awaitable*>(context);
    self->result_ = signalled;
    self->pending_ = false;
    const std::coroutine_handle<> handle = self->handle_;
    Scheduler scheduler = std::move(self->scheduler_);
    scheduler(handle);
  }

  Object& object_;
  Scheduler scheduler_;
  std::stop_token stop_;
  std::optional<std::stop_callback<Cancel>> stop_callback_;
  AsyncWaitStorage storage_;
  std::coroutine_handle<> handle_;
  bool result_ = false;
  bool pending_ = false;
};

}  // namespace detail

/// Waits for `event` (consumes its signal). co_await yields false if `stop` was requested first.
inline detail::Awaitable<AutoResetEvent, detail::ResumeInline> async_wait(
    AutoResetEvent& event, std::stop_token stop = {}) noexcept {
  return {event, {}, std::move(stop)};
}
/// Waits until `event` is set (observes it).
inline detail::Awaitable<ManualResetEvent, detail::ResumeInline> async_wait(
    ManualResetEvent& event, std::stop_token stop = {}) noexcept {
  return {event, {}, std::move(stop)};
}
/// Waits until the count of `countdown` is 0 (observes it).
inline detail::Awaitable<CountdownEvent, detail::ResumeInline> async_wait(
    CountdownEvent& countdown, std::stop_token stop = {}) noexcept {
  return {countdown, {}, std::move(stop)};
}
/// Takes a unit of `semaphore`, waiting while there is none.
inline detail::Awaitable<Semaphore, detail::ResumeInline> async_acquire(
    Semaphore& semaphore, std::stop_token stop = {}) noexcept {
  return {semaphore, {}, std::move(stop)};
}

/// The same, resumed through `scheduler`: any callable void(std::coroutine_handle<>) (one that
/// posts to a thread pool or an asio executor, say); the completing thread calls it instead of
/// resuming the coroutine itself. It is moved out of the awaiter before it is called.
template <class Object, detail::CoroutineScheduler Scheduler>
requires(std::same_as<Object, AutoResetEvent> || std::same_as<Object, ManualResetEvent> ||
         std::same_as<Object, CountdownEvent>)
    detail::Awaitable<Object, std::decay_t<Scheduler>> async_wait(Object& object,
                                                                  Scheduler&& scheduler,
                                                                  std::stop_token stop = {}) {
  return {object, std::forward<Scheduler>(scheduler), std::move(stop)};
}
/// async_acquire() through `scheduler`.
template <detail::CoroutineScheduler Scheduler>
detail::Awaitable<Semaphore, std::decay_t<Scheduler>> async_acquire(Semaphore& semaphore,
                                                                    Scheduler&& scheduler,
                                                                    std::stop_token stop = {}) {
  return {semaphore, std::forward<Scheduler>(scheduler), std::move(stop)};
}

}  // namespace exitleft
