// Awaitable waits: the node behind exitleft/detail/async_wait.hpp, and the per-thread trampoline
// that resumes coroutines (A3). The protocol of the node: src/async/async_node.hpp.
#include "exitleft/detail/async_wait.hpp"

#include <new>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "exitleft/semaphore.hpp"
#include "src/async/async_access.hpp"
#include "src/async/async_node.hpp"
#include "src/primitives/countdown_event_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"

namespace exitleft::detail {
namespace {

// The library's node: the lot's part, and what the caller gave.
struct AsyncWaitState : AsyncWaitNode<StdSync> {
  AsyncKind kind{};
  void* object = nullptr;
  AsyncComplete complete = nullptr;
  void* context = nullptr;
  // The trampoline's queue (below), and why the node is on it.
  AsyncWaitState* next_ready = nullptr;
  bool removed_by_cancel = false;
};
static_assert(sizeof(AsyncWaitState) <= sizeof(AsyncWaitStorage));
static_assert(alignof(AsyncWaitState) <= alignof(AsyncWaitStorage));

AsyncWaitState& state_of(AsyncWaitStorage& storage) noexcept {
  return *std::launder(reinterpret_cast<AsyncWaitState*>(storage.bytes));
}

}  // namespace

namespace {

// Which object, and how: the primitive's own step and cancel (src/async/async_access.hpp).
struct AsyncObject {
  static AsyncStep step(AsyncWaitState& w, bool woken) noexcept {
    switch (w.kind) {
      case AsyncKind::kAutoReset:
        return AsyncAccess::step<true>(event(w), w, woken);
      case AsyncKind::kManualReset:
        return AsyncAccess::step<false>(event(w), w, woken);
      case AsyncKind::kCountdown:
        return AsyncAccess::step(countdown(w), w, woken);
      case AsyncKind::kSemaphore:
        break;
    }
    return AsyncAccess::step(semaphore(w), w, woken);
  }
  static bool cancel(AsyncWaitState& w) noexcept {
    switch (w.kind) {
      case AsyncKind::kAutoReset:
        return AsyncAccess::cancel<true>(event(w), w);
      case AsyncKind::kManualReset:
        return AsyncAccess::cancel<false>(event(w), w);
      case AsyncKind::kCountdown:
        return AsyncAccess::cancel(countdown(w), w);
      case AsyncKind::kSemaphore:
        break;
    }
    return AsyncAccess::cancel(semaphore(w), w);
  }

 private:
  // async_wait_init() received the public object; these are its state machines.
  static BasicRawEvent<StdSync, true>& event(AsyncWaitState& w) noexcept {
    if (w.kind == AsyncKind::kAutoReset) return static_cast<AutoResetEvent*>(w.object)->raw();
    return static_cast<ManualResetEvent*>(w.object)->raw();
  }
  static BasicCountdownEvent<StdSync, true>& countdown(AsyncWaitState& w) noexcept {
    return *static_cast<CountdownEvent*>(w.object);
  }
  static BasicSemaphore<StdSync, true>& semaphore(AsyncWaitState& w) noexcept {
    return *static_cast<Semaphore*>(w.object);
  }
};

// The trampoline: per thread, the nodes whose wait ended (or must look again) and the depth of
// library locks held. Completions run from run_ready() only, one after another: a completion
// that signals again (a resumed coroutine calling set()) only queues what it wakes, and the loop
// runs it after the completion returns, so a chain of any length runs in constant stack (A3).
struct Trampoline {
  AsyncWaitState* head = nullptr;
  AsyncWaitState* tail = nullptr;
  unsigned locks = 0;    // enter_library_lock() depth
  bool running = false;  // run_ready() is on the stack
};
constinit thread_local Trampoline trampoline;

void run_ready() noexcept {
  Trampoline& t = trampoline;
  t.running = true;
  while (AsyncWaitState* w = t.head) {
    t.head = w->next_ready;
    if (t.head == nullptr) t.tail = nullptr;
    if (w->removed_by_cancel) {
      w->complete(w->context, false);
      continue;
    }
    // Taken off the queue by an unparker: was it handed the signal, or must it look again?
    const AsyncStep step = AsyncObject::step(*w, true);
    if (step == AsyncStep::kQueued) continue;  // queued again: `w` may be gone already
    w->complete(w->context, step == AsyncStep::kSignalled);
  }
  t.running = false;
}

void make_ready(AsyncWaitState& w) noexcept {
  Trampoline& t = trampoline;
  w.next_ready = nullptr;
  if (t.tail != nullptr) {
    t.tail->next_ready = &w;
  } else {
    t.head = &w;
  }
  t.tail = &w;
  if (!t.running && t.locks == 0) run_ready();
}

// The lot's on_unpark: after the unparker dropped the bucket lock.
void on_unpark(parking_lot::detail::ThreadData<StdSync>* node) noexcept {
  make_ready(*static_cast<AsyncWaitState*>(node));
}

}  // namespace

void StdSync::enter_library_lock() noexcept {
  ++trampoline.locks;
}
void StdSync::leave_library_lock() noexcept {
  Trampoline& t = trampoline;
  if (--t.locks == 0 && !t.running && t.head != nullptr) run_ready();
}

void async_wait_init(AsyncWaitStorage& storage, AsyncKind kind, void* object,
                     AsyncComplete complete, void* context) noexcept {
  AsyncWaitState* w = ::new (static_cast<void*>(storage.bytes)) AsyncWaitState;
  w->on_unpark.store(&on_unpark);
  w->kind = kind;
  w->object = object;
  w->complete = complete;
  w->context = context;
}

AsyncStep async_wait_start(AsyncWaitStorage& storage) noexcept {
  return AsyncObject::step(state_of(storage), false);
}

void async_wait_cancel(AsyncWaitStorage& storage) noexcept {
  AsyncWaitState& w = state_of(storage);
  // relaxed: the bucket lock that cancel() takes next orders it for any step that queues after
  // (src/async/async_node.hpp).
  w.cancelled.store(true, std::memory_order_relaxed);
  if (AsyncObject::cancel(w)) {
    w.removed_by_cancel = true;
    make_ready(w);
  }
}

}  // namespace exitleft::detail
