/// @file
/// exitleft::parking_lot — a parking lot in the style of Rust's parking_lot_core 0.9.
///
/// What it guarantees:
/// - A thread parks on a key (any address) only if `validate()` returns true while the key's
///   queue is locked. Any thread that changes the state `validate` reads and then calls an
///   unpark function on the same key therefore either makes `validate` fail or finds the parked
///   thread: no wake-up is lost between the check and the sleep.
/// - Threads parked on one key wake in FIFO order (unpark_one, unpark_requeue, unpark_filter).
/// - The unpark callbacks run while the queue is still locked, before any thread wakes, and
///   choose the token the woken thread receives: a primitive can hand its state over directly.
/// - A timed park whose deadline passes returns TimedOut after `timed_out(key, was_last_thread)`
///   ran under the queue lock; a thread unparked at that same moment returns Unparked instead.
///   Spurious OS wake-ups are never visible.
/// - `UnparkResult::be_fair` turns true about every 0.5 ms per bucket, so that a primitive can
///   hand off fairly now and then instead of letting a running thread barge.
/// - The table grows with the number of threads that ever parked (at least 3 buckets per
///   thread) without losing or stranding a parked thread. Park and unpark allocate nothing
///   after a thread's first park; nothing is ever allocated while a bucket is locked.
/// - A child process created by fork() gets an empty lot: it can park and unpark even if other
///   threads of the parent were parked or held bucket locks at the moment of the fork.
///
/// Callbacks are any callables, passed by reference and never stored. They run with a bucket
/// lock held: they must be short, must not throw (the lot's functions are noexcept) and must
/// not call into the parking lot.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/function_ref.hpp"
#include "exitleft/export.hpp"

namespace exitleft::parking_lot {

/// Passed by a parking thread; unpark_filter's filter sees it.
using ParkToken = std::uintptr_t;
/// Passed by the unparking thread to the thread it wakes.
using UnparkToken = std::uintptr_t;

/// The park token of a thread that does not need one.
inline constexpr ParkToken DEFAULT_PARK_TOKEN = 0;
/// The unpark token of an unpark that does not need one.
inline constexpr UnparkToken DEFAULT_UNPARK_TOKEN = 0;

/// How park() ended.
struct ParkResult {
  /// What happened.
  enum class Kind : std::uint8_t {
    Unparked,  ///< woken by an unpark call; `token` is what it passed
    Invalid,   ///< validate() returned false; the thread never slept
    TimedOut,  ///< the deadline passed; timed_out() was called
  };
  Kind kind;          ///< what happened
  UnparkToken token;  ///< the unparker's token (Unparked only)

  /// kind == Kind::Unparked.
  bool is_unparked() const noexcept { return kind == Kind::Unparked; }
};

/// What an unpark call did (also passed to its callback, before the threads wake).
struct UnparkResult {
  std::size_t unparked_threads = 0;  ///< threads woken
  std::size_t requeued_threads = 0;  ///< threads moved to another key (unpark_requeue)
  bool have_more_threads = false;    ///< threads remain parked on the key
  bool be_fair = false;              ///< time for a fair hand-off (only set if a thread woke)
};

/// unpark_filter's answer for one parked thread.
enum class FilterOp : std::uint8_t {
  Unpark,  ///< wake this thread
  Skip,    ///< leave it parked, look at the next one
  Stop,    ///< leave it and every later one parked
};

/// What unpark_requeue does, chosen by its validate callback.
enum class RequeueOp : std::uint8_t {
  Abort,                 ///< do nothing
  UnparkOneRequeueRest,  ///< wake the first thread, move the others to the target key
  RequeueAll,            ///< move every thread to the target key
  UnparkOne,             ///< wake the first thread, leave the others on the source key
  RequeueOne,            ///< move the first thread to the target key
};

namespace detail {
using Deadline = exitleft::detail::SteadyTime;
using exitleft::detail::FunctionRef;

EXITLEFT_EXPORT ParkResult park(const void* key, FunctionRef<bool()> validate,
                                FunctionRef<void()> before_sleep,
                                FunctionRef<void(const void*, bool)> timed_out, ParkToken token,
                                Deadline deadline) noexcept;
EXITLEFT_EXPORT UnparkResult unpark_one(const void* key,
                                        FunctionRef<UnparkToken(UnparkResult)> callback) noexcept;
EXITLEFT_EXPORT UnparkResult
unpark_requeue(const void* from, const void* to, FunctionRef<RequeueOp()> validate,
               FunctionRef<UnparkToken(RequeueOp, UnparkResult)> callback) noexcept;
EXITLEFT_EXPORT UnparkResult
unpark_filter(const void* key, FunctionRef<FilterOp(ParkToken)> filter,
              FunctionRef<UnparkToken(UnparkResult)> callback) noexcept;

// Diagnostics for tests and benchmarks.
EXITLEFT_EXPORT std::size_t bucket_count() noexcept;  // of the current table
EXITLEFT_EXPORT std::size_t registered_threads() noexcept;
}  // namespace detail

/// Parks the calling thread on `key` if `validate()` returns true (called under the bucket
/// lock). `before_sleep()` runs after the bucket is unlocked and before the thread sleeps.
/// If `deadline` passes first, `timed_out(key, was_last_thread)` runs under the bucket lock,
/// where `was_last_thread` tells whether no other thread is parked on `key` any more.
template <class Validate, class BeforeSleep, class TimedOut>
ParkResult park(const void* key, Validate&& validate, BeforeSleep&& before_sleep,
                TimedOut&& timed_out, ParkToken token,
                std::optional<std::chrono::steady_clock::time_point> deadline) noexcept {
  return detail::park(key, validate, before_sleep, timed_out, token,
                      deadline.value_or(exitleft::detail::kNoDeadline));
}

/// Wakes the first thread parked on `key`, if any. `callback(result)` runs under the bucket
/// lock after the thread has been chosen and before it wakes; it returns the thread's token.
template <class Callback>
UnparkResult unpark_one(const void* key, Callback&& callback) noexcept {
  return detail::unpark_one(key, callback);
}

/// Wakes every thread parked on `key` with `token`; returns how many.
EXITLEFT_EXPORT std::size_t unpark_all(const void* key, UnparkToken token) noexcept;

/// Under the locks of both keys' buckets, `validate()` picks an operation; threads parked on
/// `from` are then woken or moved to `to` as it says, and `callback(op, result)` runs before the
/// woken thread (if any) wakes, returning its token.
template <class Validate, class Callback>
UnparkResult unpark_requeue(const void* from, const void* to, Validate&& validate,
                            Callback&& callback) noexcept {
  return detail::unpark_requeue(from, to, validate, callback);
}

/// Walks the threads parked on `key` in FIFO order and asks `filter(park_token)` about each;
/// then runs `callback(result)` under the lock and wakes the chosen threads with its token.
template <class Filter, class Callback>
UnparkResult unpark_filter(const void* key, Filter&& filter, Callback&& callback) noexcept {
  return detail::unpark_filter(key, filter, callback);
}

}  // namespace exitleft::parking_lot
