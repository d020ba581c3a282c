// The library side of awaitable waits (exitleft/async.hpp, exitleft/asio.hpp): a wait's state
// lives in storage the caller owns (a coroutine's awaiter, an asio operation), and three calls
// drive it. The design: docs/architecture.md, "Awaitable waits"; src/async/async_node.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exitleft/detail/async_step.hpp"
#include "exitleft/export.hpp"

namespace exitleft::detail {

// Which object a wait is on, and how: AutoResetEvent and Semaphore consume, ManualResetEvent
// and CountdownEvent observe.
enum class AsyncKind : std::uint8_t { kAutoReset, kManualReset, kCountdown, kSemaphore };

// Called exactly once for a wait that async_wait_start() queued: `signalled` says how it ended
// (false: cancelled, nothing taken). It runs on the thread that completed the wait (inside the
// set() / release() / decrement() / reset(0) / pulse() that signalled it, or the stop request
// that cancelled it), after that call released every lock of the library, and never nested in
// another completion on the same thread: completions that a completion causes are queued and
// run after it returns (A3).
using AsyncComplete = void (*)(void* context, bool signalled) noexcept;

// Room for the library's node (src/async/async_wait.cpp checks that it fits). Must not move
// between async_wait_init() and the end of the wait.
struct alignas(16) AsyncWaitStorage {
  unsigned char bytes[160];
};

// Prepares a wait on `object` (the exitleft object itself: AutoResetEvent&, ...).
EXITLEFT_EXPORT void async_wait_init(AsyncWaitStorage& storage, AsyncKind kind, void* object,
                                     AsyncComplete complete, void* context) noexcept;
// The first step: kSignalled or kCancelled (done, `complete` is not called), or kQueued
// (`complete` will be called, maybe on another thread before this returns: the caller must not
// touch what `context` names after kQueued).
EXITLEFT_EXPORT AsyncStep async_wait_start(AsyncWaitStorage& storage) noexcept;
// A stop request: the wait ends with signalled == false unless its signal was handed to it
// already (A4). Any time after async_wait_init(), any number of times, from any thread, until
// the wait has completed.
EXITLEFT_EXPORT void async_wait_cancel(AsyncWaitStorage& storage) noexcept;

}  // namespace exitleft::detail
