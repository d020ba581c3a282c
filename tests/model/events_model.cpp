// Relacy models of the single-object primitives: RawEvent (src/primitives/raw_event_impl.hpp),
// Semaphore (src/primitives/semaphore_impl.hpp) and CountdownEvent
// (src/primitives/countdown_event_impl.hpp), instantiated on RelacySync (or ObservedSync, which
// also reports who the lot queued and woke), each reaching the lot of the running model. Waits with
// a deadline are timed futex waits that Relacy may time out at any point; untimed waiters that
// never wake are reported as deadlocks.
//
// Guarantees checked (SPEC "Events", "Semaphore and CountdownEvent"):
// - events.set_one.*: E1/E2 a waiter whose set came after it began waiting returns true; every
//   signal is consumed at most once (waits that returned true + the final state = sets made).
// - events.handoff.*: E3 once set_one() picked a parked waiter, neither a try_wait_one() right
//   after it nor a wait that starts later gets the signal; the parked waiter does.
// - events.manual.*: E4 once set_all() returned, is_set() stays true (no reset here), whatever
//   waiters time out meanwhile; an untimed waiter returns.
// - events.pulse.*: E5 a pulse never leaves the event set; it wakes the waiters parked at that
//   moment (waits that returned true = threads the lot woke) and no waiter that starts later.
// - sem.*: units are conserved (initial + successful releases = acquired + final count), a
//   release past max fails and changes nothing, release(2) feeds two parked waiters.
// - countdown.*: the decrement reaching 0 wakes a waiter (exactly one decrement reports it);
//   increment from 0 unsets at once, and a wait that starts afterwards is not released.
//
// Seeded bugs, each in a small copy of the relevant logic below, which Relacy must catch:
// - seeded.timeout_stores_zero: rsevents 0.3.1's manual-reset event, whose last waiter to time
//   out stores 0 and erases a set() that raced with it: the E4 assertion fails.
// - seeded.available_before_handoff: an auto-reset set_one() that makes the event available and
//   then wakes the first waiter to compete for it (pevents): a late try_wait_one() steals it,
//   the E3 assertion fails.
// - seeded.release_ignores_parked: a semaphore release that adds to the count while waiters are
//   parked, without waking them: DEADLOCK.
// The same copies without their bug pass the same models (events.copy.*, sem.copy.*).

#include "src/lot/lot_mutex_impl.hpp"
#include "src/multi_wait/engine_impl.hpp"
#include "src/primitives/countdown_event_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"
#include "tests/model/model_main.hpp"

namespace exitleft::model {
namespace {

namespace pl = exitleft::parking_lot;
using exitleft::detail::BasicCountdownEvent;
using exitleft::detail::BasicRawEvent;
using exitleft::detail::BasicSemaphore;
using exitleft::detail::kNoDeadline;
using exitleft::detail::kTokenBroadcast;
using exitleft::detail::kTokenHandOff;
using exitleft::detail::SteadyTime;

constexpr auto kRelaxed = std::memory_order::relaxed;
constexpr auto kAcquire = std::memory_order::acquire;
constexpr auto kRelease = std::memory_order::release;
constexpr auto kAcqRel = std::memory_order::acq_rel;

// Spins (with scheduling points) until `pred` holds.
template <class Pred>
void await(Pred&& pred) {
  while (!pred()) rl::yield(1, RL_INFO);
}

// ---- copies with seeded bugs
// ----------------------------------------------------------------------

enum class EventBug {
  None,
  TimeoutStoresZero,       // rsevents 0.3.1: the last waiter to time out stores 0
  AvailableBeforeHandOff,  // pevents: set_one makes the event available, then wakes a waiter
};

// A manual-reset event in the style of rsevents 0.3.1: set_all() swaps the state to AVAILABLE
// outside the lot and then wakes everyone who was parked. A timed-out waiter that was the last
// one parked must clear only PARKED: the set may have landed after it timed out.
template <class Sync, EventBug kBug>
class MiniManualEvent {
 public:
  static constexpr std::uint8_t kAvailable = 1, kParked = 2;

  void set_all() noexcept {
    // release: pairs with the acquire in is_set() / wait_until().
    if (state_.exchange(kAvailable, kAcqRel) & kParked) Sync::unpark_all(this, kTokenBroadcast);
  }
  bool is_set() const noexcept { return state_.load(kAcquire) & kAvailable; }
  void wait_all() noexcept { wait_until(kNoDeadline); }
  template <class Rep, class Period>
  bool wait_all_for(const std::chrono::duration<Rep, Period>&) noexcept {
    return wait_until(kTimed);
  }

 private:
  bool wait_until(SteadyTime deadline) noexcept {
    for (;;) {
      std::uint8_t s = state_.load(kAcquire);  // acquire: pairs with the release in set_all()
      if (s & kAvailable) return true;
      if (!(s & kParked) && !state_.compare_exchange_weak(s, kParked, kRelaxed, kRelaxed)) {
        continue;
      }
      const pl::ParkResult r = Sync::park(
          this, [this] { return state_.load(kRelaxed) == kParked; }, [] {},
          [this](const void*, bool was_last) {
            if (!was_last) return;
            if constexpr (kBug == EventBug::TimeoutStoresZero) {
              state_.store(0, kRelaxed);  // erases a set that came after the timeout
            } else {
              state_.fetch_and(static_cast<std::uint8_t>(~kParked), kRelaxed);
            }
          },
          pl::DEFAULT_PARK_TOKEN, deadline);
      if (r.kind == pl::ParkResult::Kind::Unparked) return true;
      if (r.kind == pl::ParkResult::Kind::TimedOut) return is_set();
    }
  }

  typename Sync::template Atomic<std::uint8_t> state_{0};
};

// An auto-reset event on RawEvent's state byte (AVAILABLE, PARKED) with RawEvent's protocol:
// with waiters parked, set_one() hands the signal to the first one under the bucket lock
// (kTokenHandOff) and the event never becomes available. The seeded bug makes it available first
// and then wakes the first waiter to take it like anybody else.
template <class Sync, EventBug kBug>
class MiniAutoEvent {
 public:
  static constexpr std::uint8_t kAvailable = 1, kParked = 2;

  void set_one() noexcept {
    std::uint8_t s = state_.load(kRelaxed);
    for (;;) {
      if (s & kAvailable) return;
      if (!(s & kParked)) {
        // release: pairs with the acquire in try_wait_one().
        if (state_.compare_exchange_weak(s, kAvailable, kRelease, kRelaxed)) return;
        continue;
      }
      if constexpr (kBug == EventBug::AvailableBeforeHandOff) {
        state_.fetch_or(kAvailable, kRelease);
        Sync::unpark_one(this, [this](pl::UnparkResult r) {
          if (!r.have_more_threads) clear_parked();
          return pl::DEFAULT_UNPARK_TOKEN;  // "look again": the waiter competes for the signal
        });
        return;
      } else {
        Sync::unpark_one(this, [this](pl::UnparkResult r) {
          if (r.unparked_threads == 0) {
            // release: pairs with the acquire in try_wait_one(). Nobody was queued: the state is
            // PARKED alone (stale), and under the bucket lock no waiter can queue meanwhile.
            state_.store(kAvailable, kRelease);
          } else if (!r.have_more_threads) {
            clear_parked();
          }
          return kTokenHandOff;
        });
        return;
      }
    }
  }

  bool try_wait_one() noexcept {
    std::uint8_t s = state_.load(kRelaxed);
    while (s & kAvailable) {
      // acquire: pairs with the release in set_one().
      if (state_.compare_exchange_weak(s, static_cast<std::uint8_t>(s & ~kAvailable), kAcquire,
                                       kRelaxed)) {
        return true;
      }
    }
    return false;
  }
  void wait_one() noexcept { wait_until(kNoDeadline); }
  template <class Rep, class Period>
  bool wait_one_for(const std::chrono::duration<Rep, Period>&) noexcept {
    return wait_until(kTimed);
  }
  bool is_set() const noexcept { return state_.load(kAcquire) & kAvailable; }

 private:
  void clear_parked() noexcept {
    state_.fetch_and(static_cast<std::uint8_t>(~kParked), kRelaxed);  // under the bucket lock
  }

  bool wait_until(SteadyTime deadline) noexcept {
    for (;;) {
      if (try_wait_one()) return true;
      std::uint8_t s = state_.load(kRelaxed);
      if (s & kAvailable) continue;
      if (!(s & kParked) && !state_.compare_exchange_weak(s, kParked, kRelaxed, kRelaxed)) {
        continue;
      }
      const pl::ParkResult r = Sync::park(
          this, [this] { return state_.load(kRelaxed) == kParked; }, [] {},
          [this](const void*, bool was_last) {
            if (was_last) clear_parked();
          },
          pl::DEFAULT_PARK_TOKEN, deadline);
      if (r.kind == pl::ParkResult::Kind::Unparked && r.token == kTokenHandOff) return true;
      if (r.kind == pl::ParkResult::Kind::TimedOut) return try_wait_one();
    }
  }

  typename Sync::template Atomic<std::uint8_t> state_{0};
};

enum class SemBug {
  None,
  ReleaseIgnoresParked,  // release adds to the count while waiters are parked, waking nobody
};

// A semaphore with Semaphore's protocol (count and PARKED in one word; while PARKED is set the
// count is 0 and releases hand units to parked waiters under the bucket lock).
template <class Sync, SemBug kBug>
class MiniSemaphore {
 public:
  static constexpr std::uint32_t kParked = 1u << 31;
  static constexpr std::uint32_t kCountMask = kParked - 1;

  MiniSemaphore(std::uint32_t initial, std::uint32_t max) : state_(initial), max_(max) {}

  bool release(std::uint32_t n) noexcept {
    std::uint32_t s = state_.load(kRelaxed);
    for (;;) {
      if (n > max_ - (s & kCountMask)) return false;
      if ((s & kParked) && kBug != SemBug::ReleaseIgnoresParked) break;
      // release: pairs with the acquire in try_acquire().
      if (state_.compare_exchange_weak(s, s + n, kRelease, kRelaxed)) return true;
    }
    std::uint32_t to_wake = n;
    Sync::unpark_filter(
        this,
        [&](pl::ParkToken) {
          if (to_wake == 0) return pl::FilterOp::Stop;
          --to_wake;
          return pl::FilterOp::Unpark;
        },
        [&](pl::UnparkResult r) {
          const auto rest = static_cast<std::uint32_t>(n - r.unparked_threads);
          std::uint32_t v = state_.load(kRelaxed);
          for (;;) {
            std::uint32_t next = v + rest;
            if (!r.have_more_threads) next &= ~kParked;
            // release: pairs with the acquire in try_acquire().
            if (state_.compare_exchange_weak(v, next, kRelease, kRelaxed)) break;
          }
          return kTokenHandOff;
        });
    return true;
  }

  bool try_acquire() noexcept {
    std::uint32_t s = state_.load(kRelaxed);
    while (s & kCountMask) {
      // acquire: pairs with the release in release().
      if (state_.compare_exchange_weak(s, s - 1, kAcquire, kRelaxed)) return true;
    }
    return false;
  }
  void acquire() noexcept { acquire_until(kNoDeadline); }
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>&) noexcept {
    return acquire_until(kTimed);
  }
  std::uint32_t count() const noexcept { return state_.load(kRelaxed) & kCountMask; }
  std::uint32_t max() const noexcept { return max_; }

 private:
  bool acquire_until(SteadyTime deadline) noexcept {
    for (;;) {
      if (try_acquire()) return true;
      std::uint32_t s = state_.load(kRelaxed);
      if (s & kCountMask) continue;
      if (!(s & kParked) && !state_.compare_exchange_weak(s, kParked, kRelaxed, kRelaxed)) {
        continue;
      }
      const pl::ParkResult r = Sync::park(
          this, [this] { return state_.load(kRelaxed) == kParked; }, [] {},
          [this](const void*, bool was_last) {
            if (was_last) state_.fetch_and(~kParked, kRelaxed);
          },
          pl::DEFAULT_PARK_TOKEN, deadline);
      if (r.kind == pl::ParkResult::Kind::Unparked && r.token == kTokenHandOff) return true;
      if (r.kind == pl::ParkResult::Kind::TimedOut) return try_acquire();
    }
  }

  typename Sync::template Atomic<std::uint32_t> state_;
  const std::uint32_t max_;
};

// ---- E1, E2: set_one vs wait_one
// -------------------------------------------------------------------

// Thread 0 waits once (with a deadline or not), thread 1 sets once. The signal is consumed by the
// waiter or is still there at the end, never both, never neither.
template <class Event, bool kTimedWait>
struct SetOneWaitOne : rl::test_suite<SetOneWaitOne<Event, kTimedWait>, 2> {
  ModelLot lot{kBuckets};
  Event ev;
  bool got = false;

  void thread(unsigned index) {
    if (index == 0) {
      if constexpr (kTimedWait) {
        got = ev.wait_one_for(kTimeout);
      } else {
        ev.wait_one();
        got = true;
      }
    } else {
      ev.set_one();
    }
  }

  void after() { RL_ASSERT(static_cast<int>(got) + static_cast<int>(ev.is_set()) == 1); }
};

// Threads 0 and 1 wait once each; thread 2 sets twice, the second time only when the event is
// unset (so that the sets never saturate; untimed: it waits for that). Every set releases one
// waiter or stays pending: successful waits + final state = sets.
template <class Event, bool kTimedWait>
struct TwoWaiters : rl::test_suite<TwoWaiters<Event, kTimedWait>, 3> {
  ModelLot lot{kBuckets};
  Event ev;
  bool got[2] = {false, false};
  int sets = 0;

  void thread(unsigned index) {
    if (index < 2) {
      if constexpr (kTimedWait) {
        got[index] = ev.wait_one_for(kTimeout);
      } else {
        ev.wait_one();
        got[index] = true;
      }
      return;
    }
    ev.set_one();
    sets = 1;
    if constexpr (!kTimedWait) await([&] { return !ev.is_set(); });
    if (!ev.is_set()) {  // only this thread sets: this set cannot saturate
      ev.set_one();
      sets = 2;
    }
  }

  void after() {
    RL_ASSERT(static_cast<int>(got[0]) + static_cast<int>(got[1]) + static_cast<int>(ev.is_set()) ==
              sets);
  }
};

// ---- E3: the hand-off cannot be stolen ---------------------------------------------------------

// Thread 0 waits (untimed). Thread 1 sets once thread 0 is queued in the lot, then calls
// try_wait_one() at once; thread 2 starts a timed wait once the set returned. The signal belongs
// to thread 0: the other two never get it. Needs ObservedSync (LotObserver).
template <class Event>
struct HandOff : rl::test_suite<HandOff<Event>, 3> {
  ModelLot lot{kBuckets};
  LotObserver observer;
  Event ev;
  Atomic<int> set_done{0};
  bool parked_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      ev.wait_one();
      parked_got = true;
    } else if (index == 1) {
      await([&] { return observer.queued[0].load() > 0; });
      ev.set_one();
      set_done.store(1, kRelease);    // release: pairs with thread 2's acquire load
      RL_ASSERT(!ev.try_wait_one());  // E3: the signal was handed to thread 0
    } else {
      await([&] { return set_done.load(kAcquire) != 0; });
      RL_ASSERT(!ev.wait_one_for(kTimeout));  // E3: a later waiter gets nothing
    }
  }

  void after() {
    RL_ASSERT(parked_got);
    RL_ASSERT(!ev.is_set());
  }
};

// ---- E4: set_all vs waiters timing out --------------------------------------------------------

// Threads 0 and 1 wait for the event with a deadline (thread 1 twice), thread 2 sets it. Once
// set_all() returned the event stays set: no timeout erases it. kUntimed: thread 1 waits without
// a deadline instead and must return.
template <class Event, bool kUntimed>
struct ManualSet : rl::test_suite<ManualSet<Event, kUntimed>, 3> {
  ModelLot lot{kBuckets};
  Event ev;

  void thread(unsigned index) {
    if (index == 0) {
      const bool got = ev.wait_all_for(kTimeout);
      if (got) RL_ASSERT(ev.is_set());
    } else if (index == 1) {
      if constexpr (kUntimed) {
        ev.wait_all();
        RL_ASSERT(ev.is_set());
      } else {
        for (int i = 0; i < 2; ++i) {
          const bool got = ev.wait_all_for(kTimeout);
          if (got) RL_ASSERT(ev.is_set());
        }
      }
    } else {
      ev.set_all();
      RL_ASSERT(ev.is_set());  // E4: set_all() returned
    }
  }

  void after() { RL_ASSERT(ev.is_set()); }  // E4: until reset(), which nobody calls
};

// The same race with two threads, small enough for a bounded search: thread 0 waits twice with a
// deadline, thread 1 sets.
template <class Event>
struct ManualSetOneWaiter : rl::test_suite<ManualSetOneWaiter<Event>, 2> {
  ModelLot lot{kBuckets};
  Event ev;

  void thread(unsigned index) {
    if (index == 0) {
      for (int i = 0; i < 2; ++i) {
        if (ev.wait_all_for(kTimeout)) RL_ASSERT(ev.is_set());
      }
    } else {
      ev.set_all();
      RL_ASSERT(ev.is_set());
    }
  }

  void after() { RL_ASSERT(ev.is_set()); }
};

// ---- E5: pulses --------------------------------------------------------------------------------

// Thread 0 waits without a deadline; thread 2 pulses once thread 0 is queued (pulse_one or
// pulse_all), then checks that the event is unset; thread 1 starts a timed wait after the pulse
// returned, which must time out. Needs ObservedSync.
template <bool Spin, bool kOne>
struct PulseParked : rl::test_suite<PulseParked<Spin, kOne>, 3> {
  ModelLot lot{kBuckets};
  LotObserver observer;
  BasicRawEvent<ObservedSync, Spin> ev;
  Atomic<int> pulsed{0};
  bool parked_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      if constexpr (kOne) {
        ev.wait_one();
      } else {
        ev.wait_all();
      }
      parked_got = true;
    } else if (index == 1) {
      await([&] { return pulsed.load(kAcquire) != 0; });
      const bool late = kOne ? ev.wait_one_for(kTimeout) : ev.wait_all_for(kTimeout);
      RL_ASSERT(!late);  // woken only by a pulse that happened while it waited
    } else {
      await([&] { return observer.queued[0].load() > 0; });
      if constexpr (kOne) {
        ev.pulse_one();
      } else {
        ev.pulse_all();
      }
      RL_ASSERT(!ev.is_set());  // E5
      pulsed.store(1, kRelease);
    }
  }

  void after() {
    RL_ASSERT(parked_got);
    RL_ASSERT(!ev.is_set());
    // Only thread 0 was woken (thread 1's timed wait may be woken by nothing at all).
    RL_ASSERT(observer.unparked.load() == 1);
    // With nobody waiting a pulse only unsets.
    ev.set_all();
    if constexpr (kOne) {
      ev.pulse_one();
    } else {
      ev.pulse_all();
    }
    RL_ASSERT(!ev.is_set());
  }
};

// Threads 0 and 1 wait with deadlines, thread 2 pulses once at any moment. The waits that return
// true are exactly the threads the pulse woke (queued at that moment), at most one for
// pulse_one; the event ends unset.
template <bool Spin, bool kOne>
struct PulseRacing : rl::test_suite<PulseRacing<Spin, kOne>, 3> {
  ModelLot lot{kBuckets};
  LotObserver observer;
  BasicRawEvent<ObservedSync, Spin> ev;
  bool got[2] = {false, false};

  void thread(unsigned index) {
    if (index < 2) {
      got[index] = kOne ? ev.wait_one_for(kTimeout) : ev.wait_all_for(kTimeout);
    } else {
      if constexpr (kOne) {
        ev.pulse_one();
      } else {
        ev.pulse_all();
      }
      RL_ASSERT(!ev.is_set());
    }
  }

  void after() {
    const int woke = static_cast<int>(got[0]) + static_cast<int>(got[1]);
    RL_ASSERT(woke == observer.unparked.load());
    if (kOne) RL_ASSERT(woke <= 1);
    RL_ASSERT(!ev.is_set());
  }
};

// ---- Semaphore
// -----------------------------------------------------------------------------------

// A semaphore at 0 of at most 2. Thread 0 acquires without a deadline, thread 1 with one; thread
// 2 releases 2 (always room) and then 1 (fails if both units are still there). Units are
// conserved and the count never passes max.
template <class Sem>
struct SemUnits : rl::test_suite<SemUnits<Sem>, 3> {
  ModelLot lot{kBuckets};
  Sem sem{0, 2};
  bool timed_got = false;
  bool second_release = false;

  void thread(unsigned index) {
    if (index == 0) {
      sem.acquire();
    } else if (index == 1) {
      timed_got = sem.try_acquire_for(kTimeout);
    } else {
      RL_ASSERT(sem.release(2));
      RL_ASSERT(sem.count() <= 2);
      second_release = sem.release(1);
      RL_ASSERT(sem.count() <= 2);
    }
  }

  void after() {
    const int released = 2 + static_cast<int>(second_release);
    const int acquired = 1 + static_cast<int>(timed_got);
    RL_ASSERT(released == acquired + static_cast<int>(sem.count()));
  }
};

// Two threads, small enough for a bounded search: a semaphore at 0 of at most 1; thread 0 takes a
// unit with a deadline, thread 1 releases twice (the second fails if the first unit is still
// there, and then changes nothing).
template <class Sem>
struct SemPastMax : rl::test_suite<SemPastMax<Sem>, 2> {
  ModelLot lot{kBuckets};
  Sem sem{0, 1};
  bool got = false;
  bool second_release = false;

  void thread(unsigned index) {
    if (index == 0) {
      got = sem.try_acquire_for(kTimeout);
    } else {
      RL_ASSERT(sem.release(1));
      second_release = sem.release(1);
      RL_ASSERT(sem.count() <= 1);
    }
  }

  void after() {
    RL_ASSERT(1 + static_cast<int>(second_release) ==
              static_cast<int>(got) + static_cast<int>(sem.count()));
  }
};

// Threads 0 and 1 acquire without deadlines; thread 2 releases 2 units in one call: both return
// and the count ends at 0.
template <class Sem>
struct SemTwoWaiters : rl::test_suite<SemTwoWaiters<Sem>, 3> {
  ModelLot lot{kBuckets};
  Sem sem{0, 2};

  void thread(unsigned index) {
    if (index < 2) {
      sem.acquire();
    } else {
      RL_ASSERT(sem.release(2));
    }
  }

  void after() { RL_ASSERT(sem.count() == 0); }
};

// The default maximum, so that every release is release()'s single fetch_add: thread 0 acquires
// without a deadline, thread 1 with one, thread 2 releases one unit twice. Nothing is lost: both
// units are taken or left in the count, and the untimed waiter always gets one. Random schedules
// only: after a lost race the acquirers back off with yields, which a bounded search does not
// count as preemptions, so its schedules do not end.
template <class Sem>
struct SemAddOneByOne : rl::test_suite<SemAddOneByOne<Sem>, 3> {
  ModelLot lot{kBuckets};
  Sem sem{0};
  bool timed_got = false;

  void thread(unsigned index) {
    if (index == 0) {
      sem.acquire();
    } else if (index == 1) {
      timed_got = sem.try_acquire_for(kTimeout);
    } else {
      RL_ASSERT(sem.release(1));
      RL_ASSERT(sem.release(1));
    }
  }

  void after() { RL_ASSERT(2 == 1 + static_cast<int>(timed_got) + static_cast<int>(sem.count())); }
};

// ---- CountdownEvent
// ------------------------------------------------------------------------------

// A countdown at 2; thread 0 waits without a deadline, threads 1 and 2 decrement. Exactly one
// decrement reports reaching 0, and the waiter returns.
template <bool Spin>
struct CountdownToZero : rl::test_suite<CountdownToZero<Spin>, 3> {
  ModelLot lot{kBuckets};
  BasicCountdownEvent<RelacySync, Spin> cd{2};
  bool reached[3] = {false, false, false};

  void thread(unsigned index) {
    if (index == 0) {
      cd.wait();
      RL_ASSERT(cd.try_wait());  // nobody raises it here
    } else {
      reached[index] = cd.decrement();
    }
  }

  void after() {
    RL_ASSERT(static_cast<int>(reached[1]) + static_cast<int>(reached[2]) == 1);
    RL_ASSERT(cd.count() == 0);
  }
};

// A countdown at 1. Thread 1 decrements it to 0 and raises it back to 1: right after the
// increment it is unset. Thread 0 waits with a deadline throughout (it may or may not see the
// 0); thread 2 starts a timed wait after the increment, which must time out.
template <bool Spin>
struct CountdownRise : rl::test_suite<CountdownRise<Spin>, 3> {
  ModelLot lot{kBuckets};
  BasicCountdownEvent<RelacySync, Spin> cd{1};
  Atomic<int> rose{0};

  void thread(unsigned index) {
    if (index == 0) {
      (void)cd.wait_for(kTimeout);  // either outcome is right
    } else if (index == 1) {
      RL_ASSERT(cd.decrement());
      cd.increment(1);
      RL_ASSERT(!cd.try_wait());  // increment from 0 unsets
      RL_ASSERT(cd.count() == 1);
      rose.store(1, kRelease);  // release: pairs with thread 2's acquire load
    } else {
      await([&] { return rose.load(kAcquire) != 0; });
      RL_ASSERT(!cd.wait_for(kTimeout));  // the 0 it missed does not release it
    }
  }

  void after() { RL_ASSERT(cd.count() == 1); }
};

// The soak's round protocol (tools/soak/counting.cpp) on one countdown, kRounds times: the
// coordinator resets it to 2, starts the round and waits; each participant books its round in a
// plain variable and decrements. The wait returns only after both decrements (a lost wake-up is a
// Relacy deadlock), its acquire makes both bookings visible (a missing one is a data race), and
// the next reset, made while the last decrement's wake-up may still be on its way, neither
// strands the coordinator nor wakes it early. Thread 2 also raises and lowers the count
// mid-round, and the coordinator's second wait is timed, so reset meets every PARKED state.
template <bool Spin, int kRounds>
struct CountdownRounds : rl::test_suite<CountdownRounds<Spin, kRounds>, 3> {
  ModelLot lot{kBuckets};
  BasicCountdownEvent<RelacySync, Spin> finished{0};
  Atomic<int> round{0};
  Var<int> booked[3];

  void thread(unsigned index) {
    if (index == 0) {
      for (int r = 1; r <= kRounds; ++r) {
        finished.reset(2);
        RL_ASSERT(!finished.try_wait());
        round.store(r, kRelease);  // release: pairs with the participants' acquire load
        if (r == 1) {
          finished.wait();
        } else {
          while (!finished.wait_for(kTimeout)) {
          }
        }
        RL_ASSERT(finished.count() == 0);
        RL_ASSERT(booked[1].load() == r && booked[2].load() == r);  // plain reads
      }
    } else {
      for (int r = 1; r <= kRounds; ++r) {
        await([&] { return round.load(kAcquire) >= r; });
        booked[index].store(r);  // plain write, published by finished.decrement()
        if (index == 2 && r == 1) {
          finished.increment(1);
          RL_ASSERT(!finished.decrement());
        }
        (void)finished.decrement();
      }
    }
  }

  void after() { RL_ASSERT(finished.count() == 0); }
};

template <bool Spin>
using Event = BasicRawEvent<RelacySync, Spin>;
template <bool Spin>
using ObservedEvent = BasicRawEvent<ObservedSync, Spin>;
template <bool Spin>
using Sem = BasicSemaphore<RelacySync, Spin>;

}  // namespace
}  // namespace exitleft::model

int main(int argc, char** argv) {
  using namespace exitleft::model;
  using EB = EventBug;
  // Bounded cases run without spurious wake-ups (quiet) and without spinning (Spin = false: each
  // spin round is a scheduling point); random cases keep both.
  return run_models(
      argc, argv,
      {
          // E1, E2
          expect_pass<SetOneWaitOne<Event<false>, false>>("events.set_one.untimed",
                                                          no_spurious(bounded(3))),
          expect_pass<SetOneWaitOne<Event<false>, true>>("events.set_one.timed",
                                                         no_spurious(bounded(3))),
          expect_pass<SetOneWaitOne<Event<true>, true>>("events.set_one.timed.random",
                                                        randomly(200'000)),
          expect_pass<TwoWaiters<Event<false>, false>>("events.set_one.two_waiters",
                                                       no_spurious(bounded(1))),
          expect_pass<TwoWaiters<Event<true>, false>>("events.set_one.two_waiters.random",
                                                      randomly(200'000)),
          expect_pass<TwoWaiters<Event<true>, true>>("events.set_one.two_waiters.timed.random",
                                                     randomly(200'000)),
          // E3
          expect_pass<HandOff<ObservedEvent<false>>>("events.handoff", randomly(200'000)),
          expect_pass<HandOff<ObservedEvent<true>>>("events.handoff.spin", randomly(200'000)),
          expect_pass<HandOff<MiniAutoEvent<ObservedSync, EB::None>>>("events.copy.handoff",
                                                                      randomly(200'000)),
          // E4
          expect_pass<ManualSetOneWaiter<Event<false>>>("events.manual.timeout",
                                                        no_spurious(bounded(2))),
          expect_pass<ManualSet<Event<true>, false>>("events.manual.timeouts.random",
                                                     randomly(200'000)),
          expect_pass<ManualSet<Event<true>, true>>("events.manual.untimed.random",
                                                    randomly(200'000)),
          expect_pass<ManualSet<MiniManualEvent<RelacySync, EB::None>, false>>(
              "events.copy.manual.timeouts.random", randomly(200'000)),
          // E5
          expect_pass<PulseParked<false, true>>("events.pulse_one.parked", randomly(200'000)),
          expect_pass<PulseParked<true, false>>("events.pulse_all.parked", randomly(200'000)),
          expect_pass<PulseRacing<true, true>>("events.pulse_one.racing.random", randomly(200'000)),
          expect_pass<PulseRacing<true, false>>("events.pulse_all.racing.random",
                                                randomly(200'000)),
          // Semaphore
          expect_pass<SemPastMax<Sem<false>>>("sem.past_max", no_spurious(bounded(3))),
          expect_pass<SemUnits<Sem<true>>>("sem.units.random", randomly(200'000)),
          expect_pass<SemTwoWaiters<Sem<false>>>("sem.release_two", no_spurious(bounded(1))),
          expect_pass<SemTwoWaiters<Sem<true>>>("sem.release_two.random", randomly(200'000)),
          expect_pass<SemAddOneByOne<Sem<true>>>("sem.add.random", randomly(200'000)),
          // The same with every release fair (units handed to the woken waiters directly).
          expect_pass<SemPastMax<Sem<false>>>("sem.past_max", fair(no_spurious(bounded(3)))),
          expect_pass<SemUnits<Sem<true>>>("sem.units.random", fair(randomly(200'000))),
          expect_pass<SemTwoWaiters<Sem<false>>>("sem.release_two", fair(no_spurious(bounded(1)))),
          expect_pass<SemAddOneByOne<Sem<true>>>("sem.add.random", fair(randomly(200'000))),
          expect_pass<SemUnits<MiniSemaphore<RelacySync, SemBug::None>>>("sem.copy.units.random",
                                                                         randomly(200'000)),
          // CountdownEvent
          expect_pass<CountdownToZero<false>>("countdown.to_zero", no_spurious(bounded(1))),
          expect_pass<CountdownToZero<true>>("countdown.to_zero.random", randomly(200'000)),
          expect_pass<CountdownRise<true>>("countdown.rise.random", randomly(200'000)),
          // one round exhaustively (two take 31 million iterations, 7 minutes), two at random
          expect_pass<CountdownRounds<false, 1>>("countdown.rounds", no_spurious(bounded(1))),
          expect_pass<CountdownRounds<true, 2>>("countdown.rounds.random", randomly(200'000)),
          // seeded bugs
          expect_fail<ManualSet<MiniManualEvent<RelacySync, EB::TimeoutStoresZero>, false>>(
              "seeded.timeout_stores_zero", rl::test_result_user_assert_failed, randomly(200'000)),
          expect_fail<HandOff<MiniAutoEvent<ObservedSync, EB::AvailableBeforeHandOff>>>(
              "seeded.available_before_handoff", rl::test_result_user_assert_failed,
              randomly(200'000)),
          expect_fail<SemUnits<MiniSemaphore<RelacySync, SemBug::ReleaseIgnoresParked>>>(
              "seeded.release_ignores_parked", rl::test_result_deadlock, randomly(200'000)),
      });
}
