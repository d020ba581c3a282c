/// @file
/// exitleft/asio.hpp — the exitleft objects as asio asynchronous operations (standalone asio,
/// Debian libasio-dev, 1.22 or later). Header-only; include it where the program uses asio.
///
///     co_await exitleft::async_wait(event, asio::use_awaitable);
///     exitleft::async_wait(event, [](std::error_code ec) { ... });   // any completion token
///     // with a timeout (using namespace asio::experimental::awaitable_operators):
///     auto r = co_await (exitleft::async_wait(event, asio::use_awaitable) ||
///                        timer.async_wait(asio::use_awaitable));
///
/// async_wait(object, token) for AutoResetEvent, ManualResetEvent and CountdownEvent, and
/// async_acquire(semaphore, token); completion signature void(std::error_code). What a
/// coroutine's co_await guarantees holds (exitleft/async.hpp: one FIFO with threads, A1; no
/// signal lost or duplicated by cancellation, A4), and:
/// - The handler runs on its associated executor (posted there), never inside the set(),
///   release() or decrement() that completed the wait; the operation keeps that executor's
///   work count while it waits.
/// - Per-operation cancellation through the handler's cancellation slot (any cancellation
///   type) completes the wait with asio::error::operation_aborted, unless the signal was
///   handed to it already (then with success: the signal is not lost).
/// - An already signalled object completes at once (still through the executor).
/// The object must outlive the operation.
#pragma once

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/error.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <concepts>
#include <coroutine>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

#include "exitleft/async.hpp"

namespace exitleft {
namespace detail {

/// One asio operation: the library's wait node, the handler, and work on its executor.
template <class Object, class Handler>
class AsioWait {
 public:
  /// Starts a wait on `object` that completes `handler` (always through its executor).
  static void start(Object& object, Handler&& handler) {
    auto op = std::unique_ptr<AsioWait>(new AsioWait(std::move(handler)));
    if (AsyncOps<Object>::try_now(object)) return finish(std::move(op), {});
    async_wait_init(op->storage_, AsyncOps<Object>::kKind, &object, &complete, op.get());
    if (op->slot_.is_connected()) op->slot_.template emplace<Cancel>(op.get());
    AsioWait* raw = op.release();  // the library owns it until `complete` (or below)
    const AsyncStep step = async_wait_start(raw->storage_);
    if (step == AsyncStep::kQueued) return;
    finish(std::unique_ptr<AsioWait>(raw), step == AsyncStep::kSignalled
                                               ? std::error_code{}
                                               : make_error_code(asio::error::operation_aborted));
  }

 private:
  using Executor = asio::associated_executor_t<Handler>;
  using WorkExecutor = std::decay_t<decltype(asio::prefer(
      std::declval<Executor>(), asio::execution::outstanding_work.tracked))>;
  using Slot = asio::associated_cancellation_slot_t<Handler>;

  explicit AsioWait(Handler&& handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_),
                           asio::execution::outstanding_work.tracked)),
        slot_(asio::get_associated_cancellation_slot(handler_)) {}

  // The cancellation slot's handler: a stop request for the node (A4 decides the outcome).
  struct Cancel {
    explicit Cancel(AsioWait* o) noexcept : op(o) {}
    AsioWait* op;
    void operator()(asio::cancellation_type type) const noexcept {
      if (type != asio::cancellation_type::none) async_wait_cancel(op->storage_);
    }
  };

  // Called by the library once, outside its locks; the handler goes to its executor.
  static void complete(void* context, bool signalled) noexcept {
    finish(std::unique_ptr<AsioWait>(static_cast<AsioWait*>(context)),
           signalled ? std::error_code{} : make_error_code(asio::error::operation_aborted));
  }

  static void finish(std::unique_ptr<AsioWait> op, std::error_code ec) noexcept {
    WorkExecutor work = op->work_;
    asio::post(work, [op = std::move(op), ec]() mutable {
      // On the handler's executor, as the slot's owner expects: no cancellation can reach the
      // operation after this.
      if (op->slot_.is_connected()) op->slot_.clear();
      Handler handler = std::move(op->handler_);
      op.reset();
      std::move(handler)(ec);
    });
  }

  Handler handler_;
  WorkExecutor work_;
  Slot slot_;
  AsyncWaitStorage storage_;
};

/// asio::async_initiate's initiation: starts an AsioWait.
template <class Object>
struct AsioInitiation {
  /// Starts the operation for `handler`.
  template <class Handler>
  void operator()(Handler&& handler, Object* object) const {
    AsioWait<Object, std::decay_t<Handler>>::start(*object, std::forward<Handler>(handler));
  }
};

/// An asio completion token, as opposed to a coroutine scheduler (exitleft/async.hpp).
template <class Token>
concept AsioWaitToken = asio::completion_token_for<Token, void(std::error_code)> &&
    !std::invocable<std::decay_t<Token>&, std::coroutine_handle<>>;

}  // namespace detail

/// Waits for an event or a countdown as an asio operation: void(std::error_code).
template <class Object, detail::AsioWaitToken Token>
requires(std::same_as<Object, AutoResetEvent> || std::same_as<Object, ManualResetEvent> ||
         std::same_as<Object, CountdownEvent>) auto async_wait(Object& object, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(detail::AsioInitiation<Object>{}, token,
                                                            &object);
}

/// Takes a unit of `semaphore` as an asio operation: void(std::error_code).
template <detail::AsioWaitToken Token>
auto async_acquire(Semaphore& semaphore, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(detail::AsioInitiation<Semaphore>{},
                                                            token, &semaphore);
}

}  // namespace exitleft
