// Relacy models of multi-object waits: MultiWaitEngine (src/multi_wait/engine_impl.hpp) on RelacySync,
// over RawEvents and a Semaphore (their MULTI paths included), each model with its own engine
// (ModelEngine) and lot (ModelLot), against concurrent single-object waiters and setters.
//
// Guarantees checked (SPEC "Multi-object waits"):
// - wait.all.*: wait-all is atomic. Thread 0 waits for {e1, e2} (auto-reset) with a deadline,
//   thread 1 waits for e1 alone (or takes a semaphore unit), thread 2 sets e1 (and e2). Exact
//   accounting per object: every signal is consumed at most once (sets = wait-alls that returned
//   + single waits that returned + final state), so a wait-all that returned consumed both and
//   one that timed out consumed nothing; with only e1 set it never returns.
// - wait.any.*: a wait-any consumes exactly the object it reports; with e0 set before e1 (in the
//   setter's order, and nobody else consuming e0) it must report 0, the lowest signalled index.
//   wait.any.pair.lowest and wait.any.lowest.random found a bug in a first version: a lock-free
//   pre-pass of MultiWaitEngine::wait() looked at the objects one by one (quick_take), so it
//   could find e0 unset, then e1 set (e0 having been set in between) and take e1 while e0 was
//   signalled. The pre-pass now looks at the first object only, and they pass.
// - wait.fifo: a single waiter parked on e1 before a wait-any registered on it gets the one set
//   of e1 (FIFO across single and multi waiters).
//
// - wait.guard.*: a semaphore of one unit (and an auto-reset event created set) is a lock, taken
//   through wait_any (three threads, two rounds each, one of them through the object's own
//   acquire), guarding a plain rl::var counter. Relacy reports a data race on the counter if two
//   threads are ever inside at once or if taking the unit is not ordered after the release that
//   added it. A countdown reaching zero publishes a plain value to wait_any / wait_all readers.
//
// Seeded bugs:
// - seeded.single_try_without_multi_recheck: the engine's single_try() as it was before
//   2026-12-06 (it consumed the unit under the engine lock without checking that the object's
//   MULTI bit was still set; once the last multi-waiter had gone, a lock-free path could take the
//   same unit). Found from outside by the ntsync stress_wait case; Relacy reports the race on the
//   counter (wait.guard.* above is the same model on the fixed engine).
// - seeded.relaxed_take: wait_any's lock-free pre-pass takes the unit with a relaxed CAS instead
//   of an acquire: the holder's increment is not ordered after the previous holder's.
// - seeded.pevents_early_consumption runs the engine with pevents' wait-all, which
// takes each object as soon as it is signalled (a specialization of try_satisfy() for the
// policy PeventsSync, below): a wait-all that then times out has eaten e1's signal, and the
// accounting assertion fails.

#include "src/primitives/countdown_event_impl.hpp"
#include "src/lot/lot_mutex_impl.hpp"
#include "src/multi_wait/engine_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"
#include "tests/model/model_main.hpp"

namespace exitleft::model {

// RelacySync under another name: the engine instantiated for it has pevents' wait-all.
struct PeventsSync : RelacySync {};
// ... the engine's single_try() without the MULTI re-check (the bug of 2026-12-06).
struct NoRecheckSync : RelacySync {};
// ... wait_any's lock-free pre-pass with a relaxed CAS.
struct RelaxedTakeSync : RelacySync {};

}  // namespace exitleft::model

namespace exitleft::detail {

template <>
inline MultiWaitEngine<model::PeventsSync>& multi_engine<model::PeventsSync>() noexcept {
  return model::ModelEngine<model::PeventsSync>::get();
}
template <>
inline MultiWaitEngine<model::NoRecheckSync>& multi_engine<model::NoRecheckSync>() noexcept {
  return model::ModelEngine<model::NoRecheckSync>::get();
}
template <>
inline MultiWaitEngine<model::RelaxedTakeSync>& multi_engine<model::RelaxedTakeSync>() noexcept {
  return model::ModelEngine<model::RelaxedTakeSync>::get();
}

// The bug of 2026-12-06: the object's MULTI bit is not checked again under the engine lock, so
// the engine consumes while the object's lock-free paths are live again.
template <>
std::optional<bool> MultiWaitEngine<model::NoRecheckSync>::single_try(const Target& t) noexcept {
  LotGuard<BasicLotMutex<model::NoRecheckSync>> guard(lock_);
  if (!signalled(t)) return false;
  consume(t);
  return true;
}

// A pre-pass whose CAS does not acquire (semaphores only; the models use nothing else here).
template <>
bool MultiWaitEngine<model::RelaxedTakeSync>::quick_take(const Target& t) noexcept {
  using Sem = BasicSemaphore<model::RelaxedTakeSync, false>;
  auto& w = *static_cast<model::RelaxedTakeSync::Atomic<std::uint64_t>*>(t.state);
  std::uint64_t s = w.load(std::memory_order::relaxed);
  while (s & Sem::kCountMask) {
    if (s & Sem::kMulti) {
      if (const auto taken = single_try(t)) return *taken;
      s = w.load(std::memory_order::relaxed);
      continue;
    }
    if (w.compare_exchange_weak(s, s - 1, std::memory_order::relaxed, std::memory_order::relaxed)) {
      return true;
    }
  }
  return false;
}

// pevents' WaitForMultipleEvents(wait_all): every object is taken as soon as it is signalled, one
// by one; the wait returns once it holds all of them. r.result (0 until the wait is satisfied)
// records, one bit per object, which ones this wait holds already: a wait that times out drops
// them, and a signal consumed for it is lost. Wait-any as in the engine.
template <>
bool MultiWaitEngine<model::PeventsSync>::try_satisfy(Record& r) noexcept {
  if (r.all) {
    const auto everything = static_cast<std::uint8_t>((1u << r.count) - 1);
    for (std::size_t i = 0; i < r.count; ++i) {
      const auto bit = static_cast<std::uint8_t>(1u << i);
      if (!(r.result & bit) && signalled(r.targets[i])) {
        consume(r.targets[i]);
        r.result = static_cast<std::uint8_t>(r.result | bit);
      }
    }
    if (r.result != everything) return false;
    r.result = 0;
    return true;
  }
  for (std::size_t i = 0; i < r.count; ++i) {
    if (signalled(r.targets[i])) {
      consume(r.targets[i]);
      r.result = static_cast<std::uint8_t>(i);
      return true;
    }
  }
  return false;
}

}  // namespace exitleft::detail

namespace exitleft::model {
namespace {

using exitleft::detail::BasicRawEvent;
using exitleft::detail::BasicSemaphore;
using exitleft::detail::kNoDeadline;
using exitleft::detail::SteadyTime;
using exitleft::detail::WaitAccess;
using exitleft::detail::WaitTarget;

constexpr auto kAcquire = std::memory_order::acquire;
constexpr auto kRelease = std::memory_order::release;

template <class Pred>
void await(Pred&& pred) {
  while (!pred()) rl::yield(1, RL_INFO);
}

// The engine of policy `Sync` waits for `targets`: the wait's index, or nullopt on timeout.
template <class Sync, std::size_t N>
std::optional<std::size_t> wait_for(const WaitTarget<Sync> (&targets)[N], bool all,
                                    SteadyTime deadline) {
  return exitleft::detail::multi_engine<Sync>().wait(std::span<const WaitTarget<Sync>>(targets, N),
                                                     all, deadline);
}

// ---- wait-all is atomic
// --------------------------------------------------------------------------

// Thread 0: wait_all({e1, e2}) with a deadline. Thread 1: a single timed wait on e1. Thread 2:
// sets e1, then e2 if kSetBoth. Exact accounting per event.
template <class Sync, bool Spin, bool kSetBoth>
struct WaitAllVsSingle : rl::test_suite<WaitAllVsSingle<Sync, Spin, kSetBoth>, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<Sync> engine;
  BasicRawEvent<Sync, Spin> e1;
  BasicRawEvent<Sync, Spin> e2;
  bool all_got = false;
  bool single_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<Sync> targets[2] = {WaitAccess::target(e1, false),
                                           WaitAccess::target(e2, false)};
      const auto r = wait_for(targets, true, kTimed);
      RL_ASSERT(!r || *r == 0);
      all_got = r.has_value();
    } else if (index == 1) {
      single_got = e1.wait_one_for(kTimeout);
    } else {
      e1.set_one();
      if (kSetBoth) e2.set_one();
    }
  }

  void after() {
    const int all = all_got ? 1 : 0;
    RL_ASSERT(1 == all + static_cast<int>(single_got) + static_cast<int>(e1.is_set()));
    RL_ASSERT((kSetBoth ? 1 : 0) == all + static_cast<int>(e2.is_set()));
  }
};

// The race of wait_all with the setter alone, small enough for a bounded search: thread 0 waits
// for {e1, e2} with a deadline, thread 1 sets e1 (and e2 if kSetBoth).
template <bool Spin, bool kSetBoth>
struct WaitAllVsSetter : rl::test_suite<WaitAllVsSetter<Spin, kSetBoth>, 2> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicRawEvent<RelacySync, Spin> e1;
  BasicRawEvent<RelacySync, Spin> e2;
  bool all_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(e1, false),
                                                 WaitAccess::target(e2, false)};
      all_got = wait_for(targets, true, kTimed).has_value();
    } else {
      e1.set_one();
      if (kSetBoth) e2.set_one();
    }
  }

  void after() {
    const int all = all_got ? 1 : 0;
    RL_ASSERT(1 == all + static_cast<int>(e1.is_set()));
    RL_ASSERT((kSetBoth ? 1 : 0) == all + static_cast<int>(e2.is_set()));
  }
};

// Thread 0: wait_all({sem, e}) with a deadline; thread 1: takes a unit with a deadline; thread 2
// releases one unit and sets e. Units and the event's signal are accounted exactly.
template <bool Spin>
struct WaitAllSemaphore : rl::test_suite<WaitAllSemaphore<Spin>, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicSemaphore<RelacySync, Spin> sem{0, 1};
  BasicRawEvent<RelacySync, Spin> ev;
  bool all_got = false;
  bool unit_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(sem),
                                                 WaitAccess::target(ev, false)};
      all_got = wait_for(targets, true, kTimed).has_value();
    } else if (index == 1) {
      unit_got = sem.try_acquire_for(kTimeout);
    } else {
      RL_ASSERT(sem.release(1));
      ev.set_one();
    }
  }

  void after() {
    const int all = all_got ? 1 : 0;
    RL_ASSERT(1 == all + static_cast<int>(unit_got) + static_cast<int>(sem.count()));
    RL_ASSERT(1 == all + static_cast<int>(ev.is_set()));
  }
};

// Observed objects: thread 0 waits for {m (manual-reset), c (countdown at 1)} without a deadline,
// thread 2 waits for m alone without a deadline, thread 1 sets m and decrements c. Both waits
// return (no wake-up is lost through the engine), and neither consumes: m stays set, c at 0.
template <bool Spin>
struct WaitAllObserved : rl::test_suite<WaitAllObserved<Spin>, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicRawEvent<RelacySync, Spin> m;
  exitleft::detail::BasicCountdownEvent<RelacySync, Spin> c{1};
  bool all_got = false;
  bool single_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(m, true),
                                                 WaitAccess::target(c)};
      all_got = wait_for(targets, true, kNoDeadline).has_value();
    } else if (index == 1) {
      m.set_all();
      RL_ASSERT(c.decrement());
    } else {
      m.wait_all();
      single_got = true;
    }
  }

  void after() {
    RL_ASSERT(all_got && single_got);
    RL_ASSERT(m.is_set());
    RL_ASSERT(c.try_wait());
  }
};

// ---- wait-any ----------------------------------------------------------------------------------

enum class SetOrder { LowFirst, HighFirst };

// Thread 0: wait_any({e0, e1}) without a deadline; thread 1 sets both, in the given order;
// thread 2 waits on e1 alone with a deadline. Each signal is consumed once; the wait-any's index
// is the object it consumed; with e0 set first it reports 0 (e0 is signalled whenever e1 is, and
// only the wait-any consumes e0).
template <bool Spin, SetOrder kOrder>
struct WaitAny : rl::test_suite<WaitAny<Spin, kOrder>, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicRawEvent<RelacySync, Spin> ev[2];
  std::size_t index_got = 99;
  bool single_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(ev[0], false),
                                                 WaitAccess::target(ev[1], false)};
      const auto r = wait_for(targets, false, kNoDeadline);
      RL_ASSERT(r.has_value());
      index_got = *r;
      if (kOrder == SetOrder::LowFirst) RL_ASSERT(index_got == 0);  // the lowest signalled
    } else if (index == 1) {
      ev[kOrder == SetOrder::LowFirst ? 0 : 1].set_one();
      ev[kOrder == SetOrder::LowFirst ? 1 : 0].set_one();
    } else {
      single_got = ev[1].wait_one_for(kTimeout);
    }
  }

  void after() {
    RL_ASSERT(index_got < 2);
    const int any0 = index_got == 0 ? 1 : 0;
    const int any1 = index_got == 1 ? 1 : 0;
    RL_ASSERT(1 == any0 + static_cast<int>(ev[0].is_set()));
    RL_ASSERT(1 == any1 + static_cast<int>(single_got) + static_cast<int>(ev[1].is_set()));
  }
};

// The minimal form: thread 0 waits for {e0, e1} (untimed), thread 1 sets both in the given
// order. Exactly one signal is consumed, the one reported; with e0 set first, index 0.
template <SetOrder kOrder>
struct WaitAnyPair : rl::test_suite<WaitAnyPair<kOrder>, 2> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicRawEvent<RelacySync, false> ev[2];
  std::size_t index_got = 99;

  void thread(unsigned index) {
    if (index == 0) {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(ev[0], false),
                                                 WaitAccess::target(ev[1], false)};
      index_got = *wait_for(targets, false, kNoDeadline);
      if (kOrder == SetOrder::LowFirst) RL_ASSERT(index_got == 0);  // the lowest signalled
    } else {
      ev[kOrder == SetOrder::LowFirst ? 0 : 1].set_one();
      ev[kOrder == SetOrder::LowFirst ? 1 : 0].set_one();
    }
  }

  void after() {
    RL_ASSERT(index_got < 2);
    RL_ASSERT(!ev[index_got].is_set());
    RL_ASSERT(ev[1 - index_got].is_set());
  }
};

// ---- FIFO across single and multi waiters ----------------------------------------------------

// Thread 0 waits on e1 alone (untimed); once it is queued in the lot, thread 1 starts
// wait_any({e1}) with a deadline, and once that is registered (e1's MULTI bit), thread 2 sets e1
// once. Thread 0 came first: it gets the signal, the wait-any times out. Needs ObservedSync.
template <bool Spin>
struct SingleBeforeMulti : rl::test_suite<SingleBeforeMulti<Spin>, 3> {
  using Event = BasicRawEvent<ObservedSync, Spin>;

  ModelLot lot{kBuckets};
  LotObserver observer;
  ModelEngine<ObservedSync> engine;
  Event e1;
  Atomic<int> multi_done{0};
  bool single_got = false;
  bool any_got = true;

  bool multi_registered() {
    // The MULTI bit is set while thread 1's wait is registered (under the engine lock).
    auto* word = static_cast<Atomic<std::uint8_t>*>(WaitAccess::target(e1, false).state);
    return (word->load(kAcquire) & Event::kMulti) != 0;
  }

  void thread(unsigned index) {
    if (index == 0) {
      e1.wait_one();
      single_got = true;
    } else if (index == 1) {
      await([&] { return observer.queued[0].load() > 0; });
      const WaitTarget<ObservedSync> targets[1] = {WaitAccess::target(e1, false)};
      any_got = wait_for(targets, false, kTimed).has_value();
      multi_done.store(1, kRelease);
    } else {
      // Set while the wait-any is registered (or after it timed out already).
      await([&] { return multi_registered() || multi_done.load(kAcquire) != 0; });
      e1.set_one();
    }
  }

  void after() {
    RL_ASSERT(single_got);
    RL_ASSERT(!any_got);
    RL_ASSERT(!e1.is_set());
  }
};

// ---- guarding plain data ------------------------------------------------------------------------

// Three threads take a one-unit semaphore twice each and increment a plain counter while they
// hold it: threads 0 and 1 through wait_any({sem}), thread 2 through sem.acquire(). A unit
// granted twice, or taken without an acquire that pairs with the release that added it, is a
// data race on `counter` (Relacy reports it) or a wrong final count.
template <class Sync>
struct SemaphoreLock : rl::test_suite<SemaphoreLock<Sync>, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<Sync> engine;
  BasicSemaphore<Sync, false> sem{1, 1};
  Var<int> counter{0};

  void thread(unsigned index) {
    for (int round = 0; round < 2; ++round) {
      if (index < 2) {
        const WaitTarget<Sync> targets[1] = {WaitAccess::target(sem)};
        RL_ASSERT(wait_for(targets, false, kNoDeadline) == std::optional<std::size_t>(0));
      } else {
        sem.acquire();
      }
      counter.store(counter.load() + 1);
      RL_ASSERT(sem.release(1));
    }
  }

  void after() {
    RL_ASSERT(counter.load() == 6);
    RL_ASSERT(sem.count() == 1);
  }
};

// The same with an auto-reset event created set: wait_any({e}) and e.wait_one() take it, set_one()
// gives it back.
struct EventLock : rl::test_suite<EventLock, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  BasicRawEvent<RelacySync, false> ev{true};
  Var<int> counter{0};

  void thread(unsigned index) {
    for (int round = 0; round < 2; ++round) {
      if (index < 2) {
        const WaitTarget<RelacySync> targets[1] = {WaitAccess::target(ev, false)};
        RL_ASSERT(wait_for(targets, false, kNoDeadline) == std::optional<std::size_t>(0));
      } else {
        ev.wait_one();
      }
      counter.store(counter.load() + 1);
      ev.set_one();
    }
  }

  void after() {
    RL_ASSERT(counter.load() == 6);
    RL_ASSERT(ev.is_set());
  }
};

// A countdown at 1 publishes a plain value: thread 0 writes it, then decrements to 0; thread 1
// reads it after wait_any({c}), thread 2 after wait_all({c, m}) (m a manual-reset event set from
// the start).
struct CountdownPublishes : rl::test_suite<CountdownPublishes, 3> {
  ModelLot lot{kBuckets};
  ModelEngine<RelacySync> engine;
  exitleft::detail::BasicCountdownEvent<RelacySync, false> c{1};
  BasicRawEvent<RelacySync, false> m{true};
  Var<int> data{0};

  void thread(unsigned index) {
    if (index == 0) {
      data.store(42);
      RL_ASSERT(c.decrement());
    } else if (index == 1) {
      const WaitTarget<RelacySync> targets[1] = {WaitAccess::target(c)};
      RL_ASSERT(wait_for(targets, false, kNoDeadline) == std::optional<std::size_t>(0));
      RL_ASSERT(data.load() == 42);
    } else {
      const WaitTarget<RelacySync> targets[2] = {WaitAccess::target(c),
                                                 WaitAccess::target(m, true)};
      RL_ASSERT(wait_for(targets, true, kNoDeadline).has_value());
      RL_ASSERT(data.load() == 42);
    }
  }
};

}  // namespace
}  // namespace exitleft::model

int main(int argc, char** argv) {
  using namespace exitleft::model;
  using R = RelacySync;
  using P = PeventsSync;
  return run_models(
      argc, argv,
      {
          // wait-all atomicity
          expect_pass<WaitAllVsSetter<false, true>>("wait.all.vs_setter", no_spurious(bounded(1))),
          expect_pass<WaitAllVsSetter<false, false>>("wait.all.vs_setter.e1_only",
                                                     no_spurious(bounded(1))),
          expect_pass<WaitAllVsSetter<false, true>>("wait.all.vs_setter.b3",
                                                    no_spurious(bounded(3))),
          expect_pass<WaitAllVsSingle<R, true, true>>("wait.all.vs_single.random",
                                                      randomly(300'000)),
          expect_pass<WaitAllVsSingle<R, true, false>>("wait.all.vs_single.e1_only.random",
                                                       randomly(300'000)),
          expect_pass<WaitAllSemaphore<true>>("wait.all.semaphore.random", randomly(300'000)),
          expect_pass<WaitAllObserved<true>>("wait.all.observed.random", randomly(300'000)),
          // wait-any
          expect_pass<WaitAnyPair<SetOrder::HighFirst>>("wait.any.pair.accounting",
                                                        no_spurious(bounded(3))),
          expect_pass<WaitAnyPair<SetOrder::LowFirst>>("wait.any.pair.lowest",
                                                       no_spurious(bounded(3))),
          expect_pass<WaitAny<true, SetOrder::LowFirst>>("wait.any.lowest.random",
                                                         randomly(300'000)),
          expect_pass<WaitAny<true, SetOrder::HighFirst>>("wait.any.accounting.random",
                                                          randomly(300'000)),
          // FIFO
          expect_pass<SingleBeforeMulti<true>>("wait.fifo.single_before_multi.random",
                                               randomly(150'000)),
          // guarding plain data
          expect_pass<SemaphoreLock<R>>("wait.guard.semaphore_lock.random", randomly(300'000)),
          expect_pass<EventLock>("wait.guard.event_lock.random", randomly(300'000)),
          expect_pass<CountdownPublishes>("wait.guard.countdown_publishes.random",
                                          randomly(200'000)),
          // seeded bugs
          expect_fail<SemaphoreLock<NoRecheckSync>>("seeded.single_try_without_multi_recheck",
                                                    rl::test_result_data_race, randomly(1'000'000)),
          expect_fail<SemaphoreLock<RelaxedTakeSync>>("seeded.relaxed_take",
                                                      rl::test_result_data_race, randomly(300'000)),
          expect_fail<WaitAllVsSingle<P, true, false>>("seeded.pevents_early_consumption",
                                                       rl::test_result_user_assert_failed,
                                                       randomly(100'000)),
      });
}
