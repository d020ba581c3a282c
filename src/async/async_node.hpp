// A coroutine's node in the parking lot: what an awaitable wait (include/exitleft/async.hpp)
// queues where a thread would park.
//
// The node is a ThreadData (src/lot/thread_data.hpp) with on_unpark set, so the lot queues it in
// the same FIFO as parked threads and unparkers choose among both alike (A1). It lives in the
// awaiter, inside the coroutine frame: nothing is allocated per wait (A5). Its life:
//
//   start   a primitive's async_step() (src/primitives/signal_wait.hpp, signal_wait_async) takes
//           the signal at once (kSignalled), sees stop requested (kCancelled), or queues the
//           node with Sync::park_async (kQueued), under the same validate as a parking thread.
//   woken   an unparker takes the node off the queue under the bucket lock, as a thread, and
//           after the unlock calls on_unpark with its token; the primitive's async_step(woken)
//           then decides as the thread's loop does: a hand-off or a broadcast is the signal,
//           anything else means look again (and maybe queue again).
//   cancel  `cancelled` is set, then the primitive's async_cancel() takes the node off its queue
//           under the bucket lock if no unparker has (Sync::cancel_async). Exactly one of the
//           two removes it, so a signal handed over is never dropped and never given twice (A4).
//           A step that runs concurrently sees `cancelled` in its validate, under the same
//           bucket lock the cancel took after setting it, and does not queue.
#pragma once

#include "exitleft/detail/async_step.hpp"
#include "src/lot/thread_data.hpp"

namespace exitleft::detail {

template <class Sync>
struct AsyncWaitNode : parking_lot::detail::ThreadData<Sync> {
  // Set once, by a stop request; read by every step (relaxed: the bucket lock that the cancel
  // takes after setting it orders it for the validate that matters).
  typename Sync::template Atomic<bool> cancelled{false};
};

}  // namespace exitleft::detail
