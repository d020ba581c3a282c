// Relacy models of awaitable waits (include/exitleft/async.hpp): a coroutine's node in the lot
// (src/async/async_node.hpp) with the primitives' own async_step / async_cancel
// (src/primitives/signal_wait.hpp), on RelacySync. The coroutine itself is left out: what the
// model drives is what the library does for it, the first step (start), the step an unparker's
// on_unpark runs, and a stop request (cancel); each may end the wait, and exactly one must.
//
// Guarantees checked (SPEC "Awaitable waits", A4 and A1):
// - async.cancel_races_set.*: thread 0 starts a coroutine's wait on an auto-reset event, thread
//   1 sets it, thread 2 requests stop. The wait completes exactly once; the one signal is either
//   consumed by it (it yields true) or still in the event (it yields false): never lost, never
//   given twice, and the node is never left queued.
// - async.cancel_races_release.*: the same with a semaphore's release(1).
// - async.thread_and_node.*: a thread (with a deadline) and a coroutine's node wait on one
//   auto-reset event, and a third thread sets it twice: the node completes at most once, and only
//   with a signal; at least one of the two waiters gets one (A1: one queue for both).
//
// Seeded bug:
// - seeded.cancel_drops_handed_signal: a cancel that does not look whether an unparker took the
//   node first, and ends the wait with false anyway (the later completion with the handed-over
//   signal is then ignored): the signal is lost, and the accounting assertion fails.
#include "src/async/async_access.hpp"
#include "src/lot/lot_mutex_impl.hpp"
#include "src/multi_wait/engine_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"
#include "tests/model/model_main.hpp"

namespace exitleft::model {
namespace {

using detail::AsyncAccess;
using detail::AsyncStep;
using Event = detail::BasicRawEvent<RelacySync, false>;
using Sem = detail::BasicSemaphore<RelacySync, false>;

enum class CancelBug { None, DropsHandedSignal };

// One coroutine's wait on `Object`, as the library drives it (src/async/async_wait.cpp).
template <class Object, CancelBug Bug>
class ModelWait {
 public:
  explicit ModelWait(Object& object) : object_(object) {
    node_.owner = this;
    node_.on_unpark.store(&on_unpark);
  }

  void start() {
    const AsyncStep s = step(false);
    if (s != AsyncStep::kQueued) complete(s == AsyncStep::kSignalled);
  }
  void cancel() {
    node_.cancelled.store(true);
    const bool removed = cancel_node();
    if (removed || Bug == CancelBug::DropsHandedSignal) complete(false);
  }

  int completions() { return completions_.load(); }
  bool signalled() { return result_.load(); }

 private:
  struct Node : detail::AsyncWaitNode<RelacySync> {
    ModelWait* owner = nullptr;
  };

  AsyncStep step(bool woken) {
    if constexpr (std::is_same_v<Object, Event>) {
      return AsyncAccess::step<true>(object_, node_, woken);
    } else {
      return AsyncAccess::step(object_, node_, woken);
    }
  }
  bool cancel_node() {
    if constexpr (std::is_same_v<Object, Event>) {
      return AsyncAccess::cancel<true>(object_, node_);
    } else {
      return AsyncAccess::cancel(object_, node_);
    }
  }
  // The lot's on_unpark, on the unparker's thread after its unlock (the trampoline's work).
  static void on_unpark(parking_lot::detail::ThreadData<RelacySync>* t) noexcept {
    ModelWait& w = *static_cast<Node*>(t)->owner;
    const AsyncStep s = w.step(true);
    if (s != AsyncStep::kQueued) w.complete(s == AsyncStep::kSignalled);
  }
  void complete(bool signalled) {
    // The seeded bug's cancel completes even when an unparker owns the node; the unparker's
    // completion, which carries the signal, is then dropped here.
    if (Bug == CancelBug::DropsHandedSignal && ended_.exchange(true)) return;
    result_.store(signalled);
    completions_.fetch_add(1);
  }

  Object& object_;
  Node node_;
  RelacySync::Atomic<int> completions_{0};
  RelacySync::Atomic<bool> result_{false};
  RelacySync::Atomic<bool> ended_{false};
};

template <CancelBug Bug>
struct CancelRacesSet : rl::test_suite<CancelRacesSet<Bug>, 3> {
  ModelLot lot{kBuckets};
  Event event{false};
  ModelWait<Event, Bug> wait{event};

  void thread(unsigned index) {
    if (index == 0) {
      wait.start();
    } else if (index == 1) {
      event.set_one();
    } else {
      wait.cancel();
    }
  }
  void after() {
    RL_ASSERT(wait.completions() == 1);
    const int left = event.try_wait_one() ? 1 : 0;
    RL_ASSERT(static_cast<int>(wait.signalled()) + left == 1);
  }
};

template <CancelBug Bug>
struct CancelRacesRelease : rl::test_suite<CancelRacesRelease<Bug>, 3> {
  ModelLot lot{kBuckets};
  Sem sem{0, 1};
  ModelWait<Sem, Bug> wait{sem};

  void thread(unsigned index) {
    if (index == 0) {
      wait.start();
    } else if (index == 1) {
      RL_ASSERT(sem.release(1));
    } else {
      wait.cancel();
    }
  }
  void after() {
    RL_ASSERT(wait.completions() == 1);
    RL_ASSERT(static_cast<int>(wait.signalled()) + static_cast<int>(sem.count()) == 1);
  }
};

// A thread and a coroutine's node wait on one auto-reset event; two set() calls serve both.
struct ThreadAndNode : rl::test_suite<ThreadAndNode, 3> {
  ModelLot lot{kBuckets};
  Event event{false};
  ModelWait<Event, CancelBug::None> wait{event};
  bool thread_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      wait.start();
    } else if (index == 1) {
      thread_got = event.wait_one_for(kTimeout);
    } else {
      event.set_one();
      event.set_one();
    }
  }
  void after() {
    // Never two completions, and never one without a signal. Two set() calls may leave one
    // signal (the event is a boolean: both can land while nobody is queued yet), but one of
    // the two waiters always has it.
    RL_ASSERT(wait.completions() <= 1);
    if (wait.completions() == 1) RL_ASSERT(wait.signalled());
    RL_ASSERT(wait.completions() == 1 || thread_got);
  }
};

}  // namespace
}  // namespace exitleft::model

int main(int argc, char** argv) {
  using namespace exitleft::model;
  return run_models(
      argc, argv,
      {
          expect_pass<CancelRacesSet<CancelBug::None>>("async.cancel_races_set",
                                                       no_spurious(bounded(2))),
          expect_pass<CancelRacesSet<CancelBug::None>>("async.cancel_races_set.random",
                                                       randomly(200'000)),
          expect_pass<CancelRacesSet<CancelBug::None>>("async.cancel_races_set.random",
                                                       fair(randomly(100'000))),
          expect_pass<CancelRacesRelease<CancelBug::None>>("async.cancel_races_release",
                                                           no_spurious(bounded(2))),
          expect_pass<CancelRacesRelease<CancelBug::None>>("async.cancel_races_release.random",
                                                           fair(randomly(100'000))),
          expect_pass<ThreadAndNode>("async.thread_and_node.random", randomly(200'000)),
          expect_fail<CancelRacesSet<CancelBug::DropsHandedSignal>>(
              "seeded.cancel_drops_handed_signal", rl::test_result_user_assert_failed,
              randomly(200'000)),
      });
}
