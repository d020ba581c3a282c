// Relacy models of Stage's leader/followers hand-off (BasicStageCore, src/stage/stage_core_impl.hpp, on
// its BasicLotMutex), instantiated on RelacySync: enter / leave / promotion / timeout / notify with
// 3 simulated threads.
//
// Guarantees checked (SPEC "Stage"):
// - S1 at most one head at a time: every head bumps an atomic counter (relaxed, so that it
//   orders nothing) and asserts it was 0, and touches a Var that only heads touch, so that Relacy
//   reports a data race unless the promotion's release/acquire orders one head after the other.
// - S3/S4 no waiter is left without a head: untimed waiters all head (Relacy reports a deadlock
//   if one sleeps forever); a promoted waiter that times out passes the role on; promotion is
//   FIFO (a waiter queued earlier heads earlier).
// - S2 and no lost notify: a thread notified while it waits returns Notified (it cannot head: the
//   head stays until it returns); a notify before enter gives Notified at once; a notification is
//   consumed at most once and, if enter timed out first, stays pending.
//
// stage.core.* run the library's BasicStageCore. They found a lost wake-up in its first version:
// the park's validate in wait_for_turn() loaded NOTIFIED / PROMOTED and then set PARKED with a
// second RMW, so a notify() or leave() whose RMW landed between the two found PARKED clear and
// woke nobody, while the owner went to sleep with the flag set (smallest failing models:
// stage.core.promotion.pair and stage.core.head_notifies, two threads each). The library now
// sets PARKED and reads the flags in one RMW, and they pass; StageCore.NotifyOrPromotionInside
// TheParkValidationIsNeverLost in tests/stage_test.cpp replays that race deterministically.
//
// stage.copy.* run MiniStageCore below, a copy of the same protocol that the seeded bugs can be
// written into (the library's code has no seams for them): the same models pass on it.
// seeded.* run that copy with a bug:
// - seeded.declined_promotion_lost: exit-left's bug: a promoted waiter that times out (or is
//   notified) returns without passing the role on: DEADLOCK.
// - seeded.headed_cleared_before_pop: leave() marks the stage idle, then (in a second critical
//   section) promotes the first waiter; a newcomer can head in between: two heads, the S1
//   assertion fails.
// - seeded.check_then_announce: the library's first validate (check, then announce) in the copy:
//   DEADLOCK, as stage.core.notify_waiting.
// - seeded.relaxed_promotion: leave() sets PROMOTED with a relaxed RMW; a waiter that sees it
//   while spinning heads without synchronizing with the old head: DATA RACE on the resource
//   (this shows that the S1 Var checks the promotion's ordering).

#include "src/lot/lot_mutex_impl.hpp"
#include "src/multi_wait/engine_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/stage/stage_core_impl.hpp"
#include "tests/model/model_main.hpp"

namespace exitleft::model {
namespace {

namespace pl = exitleft::parking_lot;
using exitleft::detail::BasicLotMutex;
using exitleft::detail::BasicRawEvent;
using exitleft::detail::BasicSpinWait;
using exitleft::detail::BasicStageCore;
using exitleft::detail::BasicStageSeat;
using exitleft::detail::kNoDeadline;
using exitleft::detail::SteadyTime;

constexpr auto kRelaxed = std::memory_order::relaxed;
constexpr auto kAcquire = std::memory_order::acquire;
constexpr auto kRelease = std::memory_order::release;

// ---- a copy of the protocol, with seeded bugs ---------------------------------------------------

enum class StageBug {
  None,
  DeclinedPromotionLost,   // exit-left: a promoted waiter that will not head just returns
  HeadedClearedBeforePop,  // leave(): idle first, promotion in a second critical section
  CheckThenAnnounce,       // validate: load the flags, then set PARKED with another RMW
  RelaxedPromotion,        // PROMOTED set with a relaxed RMW: the old head's work is not published
};

// BasicStageCore's protocol (src/stage/stage_core_impl.hpp), line for line, except for the validate of
// wait_for_turn(), which here sets PARKED and looks at NOTIFIED / PROMOTED in one RMW (and so
// always clears PARKED after the park), and the seeded bugs.
template <class Sync, bool Spin, StageBug kBug>
class MiniStageCore {
 public:
  using Seat = BasicStageSeat<Sync>;
  enum class Entry : std::uint8_t { Head, Notified, TimedOut };

  Entry enter(Seat& seat, SteadyTime deadline) noexcept {
    if (take_notification(seat)) return Entry::Notified;
    lock_.lock();
    if (!headed_.load()) {
      headed_.store(true);
      lock_.unlock();
      return Entry::Head;
    }
    if (deadline != kNoDeadline && deadline <= Sync::now()) {
      lock_.unlock();
      return Entry::TimedOut;
    }
    append(seat);
    lock_.unlock();
    return wait_for_turn(seat, deadline);
  }

  void leave() noexcept {
    lock_.lock();
    if constexpr (kBug == StageBug::HeadedClearedBeforePop) {
      headed_.store(false);
      lock_.unlock();
      lock_.lock();
    }
    Seat* next = first_.load();
    bool must_wake = false;
    if (next != nullptr) {
      unlink(*next);
      if constexpr (kBug == StageBug::HeadedClearedBeforePop) headed_.store(true);
      // release: pairs with the acquire in wait_for_turn().
      const std::uint32_t prev = next->state.fetch_or(
          Seat::kPromoted, kBug == StageBug::RelaxedPromotion ? kRelaxed : kRelease);
      must_wake = (prev & Seat::kParked) != 0;
    } else {
      headed_.store(false);
    }
    lock_.unlock();
    if (must_wake) wake(next);
  }

  static bool notify(Seat& seat) noexcept {
    // release: pairs with the acquire in take_notification() / wait_for_turn().
    const std::uint32_t prev = seat.state.fetch_or(Seat::kNotified, kRelease);
    return (prev & (Seat::kNotified | Seat::kParked)) == Seat::kParked;
  }
  static void wake(const Seat* seat) noexcept {
    Sync::unpark_one(seat, [](pl::UnparkResult) { return pl::DEFAULT_UNPARK_TOKEN; });
  }
  static bool take_notification(Seat& seat) noexcept {
    // acquire: pairs with the release in notify().
    if (!(seat.state.load(kAcquire) & Seat::kNotified)) return false;
    seat.state.fetch_and(~Seat::kNotified, kAcquire);
    return true;
  }

 private:
  Entry wait_for_turn(Seat& seat, SteadyTime deadline) noexcept {
    BasicSpinWait<Sync> spin;
    for (;;) {
      // acquire: pairs with the release in notify() and in leave().
      const std::uint32_t s = seat.state.load(kAcquire);
      if (s & Seat::kNotified) return leave_queue(seat, Entry::Notified);
      if (s & Seat::kPromoted) {
        seat.state.fetch_and(~Seat::kPromoted, kRelaxed);
        return Entry::Head;
      }
      if (Spin && spin.spin()) continue;
      const pl::ParkResult r = Sync::park(
          &seat,
          [&seat] {
            constexpr std::uint32_t kFlags = Seat::kNotified | Seat::kPromoted;
            if constexpr (kBug == StageBug::CheckThenAnnounce) {
              if (seat.state.load(kRelaxed) & kFlags) return false;
              seat.state.fetch_or(Seat::kParked, kRelaxed);
              return true;
            } else {
              // One RMW: a notify / promotion either came first (its flag is seen here) or
              // comes after and sees PARKED (then its wake-up takes this bucket lock, which we
              // hold until we are queued).
              return (seat.state.fetch_or(Seat::kParked, kRelaxed) & kFlags) == 0;
            }
          },
          [] {}, [](const void*, bool) {}, pl::DEFAULT_PARK_TOKEN, deadline);
      if (kBug != StageBug::CheckThenAnnounce || r.kind != pl::ParkResult::Kind::Invalid) {
        seat.state.fetch_and(~Seat::kParked, kRelaxed);
      }
      if (r.kind == pl::ParkResult::Kind::TimedOut) return leave_queue(seat, Entry::TimedOut);
    }
  }

  Entry leave_queue(Seat& seat, Entry otherwise) noexcept {
    lock_.lock();
    const bool popped = !seat.queued.load();
    if (!popped) unlink(seat);
    lock_.unlock();
    if (popped && kBug != StageBug::DeclinedPromotionLost) {
      seat.state.fetch_and(~Seat::kPromoted, kRelaxed);
      leave();
    }
    return take_notification(seat) ? Entry::Notified : otherwise;
  }

  void append(Seat& seat) noexcept {
    Seat* last = last_.load();
    seat.prev.store(last);
    seat.next.store(nullptr);
    seat.queued.store(true);
    if (last != nullptr) {
      last->next.store(&seat);
    } else {
      first_.store(&seat);
    }
    last_.store(&seat);
  }

  void unlink(Seat& seat) noexcept {
    Seat* prev = seat.prev.load();
    Seat* next = seat.next.load();
    if (prev != nullptr) {
      prev->next.store(next);
    } else {
      first_.store(next);
    }
    if (next != nullptr) {
      next->prev.store(prev);
    } else {
      last_.store(prev);
    }
    seat.queued.store(false);
  }

  BasicLotMutex<Sync> lock_;
  typename Sync::template Var<bool> headed_{false};
  typename Sync::template Var<Seat*> first_{nullptr};
  typename Sync::template Var<Seat*> last_{nullptr};
};

// ---- what every head does
// -------------------------------------------------------------------------

// S1: the counter is bumped with `kOrder` (relaxed in the correct models, so that it adds no
// happens-before and the Var checks the core's own ordering; acq_rel where a seeded bug must show
// as the assertion rather than, in some schedules, as a data race).
template <std::memory_order kOrder = std::memory_order::relaxed>
struct HeadCheck {
  Atomic<int> inside{0};
  Var<int> resource{0};  // touched only by heads
  Var<int> order[4];     // order[k]: the thread that headed k-th
  Var<int> heads{0};     // how many heads ran (touched only by heads)

  void run(unsigned index) {
    RL_ASSERT(inside.fetch_add(1, kOrder) == 0);  // S1
    resource.store(resource.load() + 1);
    const int k = heads.load();
    if (k < 4) order[k].store(static_cast<int>(index));
    heads.store(k + 1);
    inside.fetch_sub(1, kOrder);
  }
};

template <class Core>
using EntryOf = typename Core::Entry;

// ---- S1, S3, S4: promotion, with or without timeouts
// ---------------------------------------------

// kThreads threads (3 unless said) enter the stage once each (thread i with a deadline if bit i of
// kTimedMask is set); whoever heads runs the head and leaves. Untimed threads must all head (a lost
// promotion leaves one asleep: deadlock); a timed one heads or times out; the stage ends idle.
template <class Core, unsigned kTimedMask, std::memory_order kOrder = std::memory_order::relaxed,
          unsigned kThreads = 3>
struct Promotion : rl::test_suite<Promotion<Core, kTimedMask, kOrder, kThreads>, kThreads> {
  using Seat = typename Core::Seat;
  using Entry = EntryOf<Core>;

  ModelLot lot{kBuckets};
  Core core;
  Seat seats[kThreads];
  HeadCheck<kOrder> check;
  Entry result[kThreads]{};

  void thread(unsigned index) {
    const bool timed = (kTimedMask >> index) & 1;
    result[index] = core.enter(seats[index], timed ? kTimed : kNoDeadline);
    if (result[index] == Entry::Head) {
      check.run(index);
      core.leave();
    } else {
      RL_ASSERT(timed && result[index] == Entry::TimedOut);
    }
  }

  void after() {
    int headed = 0;
    for (unsigned i = 0; i < kThreads; ++i) headed += result[i] == Entry::Head;
    RL_ASSERT(check.heads.load() == headed);
    RL_ASSERT(check.resource.load() == headed);
    // The stage is idle: a new entry heads at once, even with a deadline already passed.
    Seat seat;
    RL_ASSERT(core.enter(seat, detail::kAlreadyPassed) == Entry::Head);
  }
};

// FIFO: thread 0 heads first and stays until threads 1 and 2 are both parked, thread 2 entering
// only once thread 1 is parked (so thread 1 queued first). Thread 1 may have a deadline. Every
// untimed thread heads; if threads 1 and 2 both head, thread 1 is first. Needs ObservedSync.
template <class Core, bool kFirstTimed>
struct FifoPromotion : rl::test_suite<FifoPromotion<Core, kFirstTimed>, 3> {
  using Seat = typename Core::Seat;
  using Entry = EntryOf<Core>;

  ModelLot lot{kBuckets};
  LotObserver observer;
  Core core;
  Seat seats[3];
  HeadCheck<> check;
  Atomic<int> heading{0};
  Entry result[3]{};

  int parks(unsigned thread) { return observer.queued[thread].load(); }

  void thread(unsigned index) {
    if (index == 0) {
      result[0] = core.enter(seats[0], kNoDeadline);
      RL_ASSERT(result[0] == Entry::Head);  // the stage was idle: threads 1 and 2 wait for this
      heading.store(1, kRelease);           // release: pairs with the acquire loads below
      check.run(0);
      await([&] { return parks(2) > 0; });
      core.leave();
      return;
    }
    await([&] { return heading.load(kAcquire) != 0; });
    if (index == 2) await([&] { return parks(1) > 0; });
    const bool timed = index == 1 && kFirstTimed;
    result[index] = core.enter(seats[index], timed ? kTimed : kNoDeadline);
    if (result[index] == Entry::Head) {
      check.run(index);
      core.leave();
    } else {
      RL_ASSERT(timed && result[index] == Entry::TimedOut);
    }
  }

  void after() {
    RL_ASSERT(result[2] == Entry::Head);
    if (result[1] == Entry::Head) {
      RL_ASSERT(check.heads.load() == 3);
      RL_ASSERT(check.order[0].load() == 0 && check.order[1].load() == 1 &&
                check.order[2].load() == 2);
    }
  }
};

// ---- S2 and lost notifications
// ---------------------------------------------------------------------

enum class NotifyWhen {
  WhileWaiting,  // thread 2 notifies whenever it runs: before, during or after thread 1's enter
  BeforeEnter,   // thread 1 enters only after the notify returned
};

// Thread 0 heads and stays head until thread 1 has returned from enter (it waits on a RawEvent
// that thread 1 sets), so thread 1 can never head. Thread 2 notifies thread 1's seat (and wakes
// it if notify says so). Thread 1's enter returns Notified; with a deadline it may instead time
// out, and then the notification is still pending. Either way it is consumed exactly once.
template <class Core, NotifyWhen kWhen, bool kTimedWait>
struct NotifyWaiter : rl::test_suite<NotifyWaiter<Core, kWhen, kTimedWait>, 3> {
  using Seat = typename Core::Seat;
  using Entry = EntryOf<Core>;

  ModelLot lot{kBuckets};
  Core core;
  Seat seats[2];
  HeadCheck<> check;
  BasicRawEvent<RelacySync, false> done;
  Atomic<int> heading{0};
  Atomic<int> notified{0};
  Entry result{};

  void thread(unsigned index) {
    if (index == 0) {
      RL_ASSERT(core.enter(seats[0], kNoDeadline) == Entry::Head);
      heading.store(1, kRelease);  // release: pairs with thread 1's acquire load
      check.run(0);
      done.wait_one();
      core.leave();
    } else if (index == 1) {
      await([&] { return heading.load(kAcquire) != 0; });
      if (kWhen == NotifyWhen::BeforeEnter) await([&] { return notified.load(kAcquire) != 0; });
      result = core.enter(seats[1], kTimedWait ? kTimed : kNoDeadline);
      done.set_one();
    } else {
      if (Core::notify(seats[1])) Core::wake(&seats[1]);
      notified.store(1, kRelease);  // release: pairs with thread 1's acquire load
    }
  }

  void after() {
    RL_ASSERT(result != Entry::Head);
    const bool pending = Core::take_notification(seats[1]);
    if (result == Entry::Notified) {
      RL_ASSERT(!pending);
    } else {
      RL_ASSERT(kTimedWait && kWhen == NotifyWhen::WhileWaiting && pending);
    }
    RL_ASSERT(check.heads.load() == 1);
  }
};

// Stage's intended use with two threads: thread 0 heads and, while heading, notifies thread 1
// (which is entering or waiting), then stays head until thread 1 has returned. Thread 1's enter
// returns Notified.
template <class Core>
struct HeadNotifies : rl::test_suite<HeadNotifies<Core>, 2> {
  using Seat = typename Core::Seat;
  using Entry = EntryOf<Core>;

  ModelLot lot{kBuckets};
  Core core;
  Seat seats[2];
  BasicRawEvent<RelacySync, false> done;
  Atomic<int> heading{0};
  Entry result{};

  void thread(unsigned index) {
    if (index == 0) {
      RL_ASSERT(core.enter(seats[0], kNoDeadline) == Entry::Head);
      heading.store(1, kRelease);  // release: pairs with thread 1's acquire load
      if (Core::notify(seats[1])) Core::wake(&seats[1]);
      done.wait_one();
      core.leave();
    } else {
      await([&] { return heading.load(kAcquire) != 0; });
      result = core.enter(seats[1], kNoDeadline);
      done.set_one();
    }
  }

  void after() { RL_ASSERT(result == Entry::Notified); }
};

// A waiter (thread 1) that is both notified (by thread 2) and promoted (thread 0 leaves at any
// moment) returns Notified or Head, exactly once, never loses the role: if it returns Notified
// after it was promoted, it passed the role on, and the stage ends idle.
template <class Core, bool kTimedWait>
struct NotifyVsPromotion : rl::test_suite<NotifyVsPromotion<Core, kTimedWait>, 3> {
  using Seat = typename Core::Seat;
  using Entry = EntryOf<Core>;

  ModelLot lot{kBuckets};
  Core core;
  Seat seats[2];
  HeadCheck<> check;
  Atomic<int> heading{0};
  Entry result{};

  void thread(unsigned index) {
    if (index == 0) {
      RL_ASSERT(core.enter(seats[0], kNoDeadline) == Entry::Head);
      heading.store(1, kRelease);
      check.run(0);
      core.leave();
    } else if (index == 1) {
      await([&] { return heading.load(kAcquire) != 0; });
      result = core.enter(seats[1], kTimedWait ? kTimed : kNoDeadline);
      if (result == Entry::Head) {
        check.run(1);
        core.leave();
      }
    } else {
      if (Core::notify(seats[1])) Core::wake(&seats[1]);
    }
  }

  void after() {
    RL_ASSERT(kTimedWait || result != Entry::TimedOut);
    const bool pending = Core::take_notification(seats[1]);
    // One notify: reported once, or still pending (when thread 1 headed or timed out).
    RL_ASSERT((result == Entry::Notified) != pending);
    Seat seat;
    RL_ASSERT(core.enter(seat, detail::kAlreadyPassed) == Entry::Head);
  }
};

template <bool Spin>
using LibCore = BasicStageCore<RelacySync, Spin>;
template <bool Spin, StageBug kBug = StageBug::None>
using CopyCore = MiniStageCore<RelacySync, Spin, kBug>;
template <bool Spin>
using ObservedCore = BasicStageCore<ObservedSync, Spin>;

}  // namespace
}  // namespace exitleft::model

int main(int argc, char** argv) {
  using namespace exitleft::model;
  using NW = NotifyWhen;
  using B = StageBug;
  constexpr auto kAcqRel = std::memory_order::acq_rel;
  // Bounded cases run without spurious wake-ups (quiet) and without spinning (Spin = false: each
  // spin round is a scheduling point); random cases keep both. A context bound of 2 with a timed
  // waiter explores tens of millions of schedules (minutes), so timed cases get a bound of 1 plus
  // a random run. sched_full does not finish even for two threads (the lot mutex and the bucket
  // locks spin, and relaxed loads may read any older value on every retry).
  return run_models(
      argc, argv,
      {
          // S1, S3, S4 on the library's core
          expect_pass<Promotion<LibCore<false>, 0b000>>("stage.core.promotion.untimed",
                                                        no_spurious(bounded(2))),
          expect_pass<Promotion<LibCore<false>, 0b010>>("stage.core.promotion.timed",
                                                        no_spurious(bounded(1))),
          expect_pass<Promotion<LibCore<true>, 0b110>>("stage.core.promotion.timed.random",
                                                       randomly(400'000)),
          expect_pass<FifoPromotion<ObservedCore<false>, false>>("stage.core.fifo",
                                                                 randomly(200'000)),
          expect_pass<FifoPromotion<ObservedCore<true>, true>>("stage.core.fifo.timed.random",
                                                               randomly(200'000)),
          expect_pass<Promotion<LibCore<false>, 0b00, std::memory_order::relaxed, 2>>(
              "stage.core.promotion.pair", no_spurious(bounded(3))),
          // S2, notify
          expect_pass<HeadNotifies<LibCore<false>>>("stage.core.head_notifies",
                                                    no_spurious(bounded(3))),
          expect_pass<NotifyWaiter<LibCore<false>, NW::BeforeEnter, false>>(
              "stage.core.notify_before_enter", no_spurious(bounded(2))),
          expect_pass<NotifyWaiter<LibCore<false>, NW::WhileWaiting, false>>(
              "stage.core.notify_waiting", no_spurious(bounded(2))),
          expect_pass<NotifyWaiter<LibCore<true>, NW::WhileWaiting, true>>(
              "stage.core.notify_waiting.timed.random", randomly(400'000)),
          expect_pass<NotifyVsPromotion<LibCore<false>, false>>("stage.core.notify_vs_promotion",
                                                                no_spurious(bounded(2))),
          expect_pass<NotifyVsPromotion<LibCore<false>, true>>(
              "stage.core.notify_vs_promotion.timed", no_spurious(bounded(1))),
          expect_pass<NotifyVsPromotion<LibCore<true>, true>>(
              "stage.core.notify_vs_promotion.timed.random", randomly(400'000)),
          // the copy, whose validate is one RMW: the same models pass
          expect_pass<Promotion<CopyCore<false>, 0b000>>("stage.copy.promotion.untimed",
                                                         no_spurious(bounded(2))),
          expect_pass<Promotion<CopyCore<false>, 0b010>>("stage.copy.promotion.timed",
                                                         no_spurious(bounded(1))),
          expect_pass<Promotion<CopyCore<true>, 0b110>>("stage.copy.promotion.timed.random",
                                                        randomly(400'000)),
          expect_pass<Promotion<CopyCore<false>, 0b00, std::memory_order::relaxed, 2>>(
              "stage.copy.promotion.pair", no_spurious(bounded(3))),
          expect_pass<HeadNotifies<CopyCore<false>>>("stage.copy.head_notifies",
                                                     no_spurious(bounded(3))),
          expect_pass<NotifyWaiter<CopyCore<false>, NW::WhileWaiting, false>>(
              "stage.copy.notify_waiting", no_spurious(bounded(2))),
          expect_pass<NotifyVsPromotion<CopyCore<false>, false>>("stage.copy.notify_vs_promotion",
                                                                 no_spurious(bounded(2))),
          expect_pass<NotifyVsPromotion<CopyCore<true>, true>>(
              "stage.copy.notify_vs_promotion.timed.random", randomly(400'000)),
          // seeded bugs
          expect_fail<
              FifoPromotion<MiniStageCore<ObservedSync, false, B::DeclinedPromotionLost>, true>>(
              "seeded.declined_promotion_lost", rl::test_result_deadlock, randomly(200'000)),
          expect_fail<
              FifoPromotion<MiniStageCore<ObservedSync, false, B::DeclinedPromotionLost>, true>>(
              "seeded.declined_promotion_lost.b1", rl::test_result_deadlock,
              no_spurious(bounded(1))),
          expect_fail<Promotion<CopyCore<false, B::HeadedClearedBeforePop>, 0b000, kAcqRel>>(
              "seeded.headed_cleared_before_pop", rl::test_result_user_assert_failed,
              randomly(200'000)),
          expect_fail<NotifyWaiter<CopyCore<false, B::CheckThenAnnounce>, NW::WhileWaiting, false>>(
              "seeded.check_then_announce", rl::test_result_deadlock, no_spurious(bounded(2))),
          expect_fail<Promotion<CopyCore<true, B::RelaxedPromotion>, 0b000>>(
              "seeded.relaxed_promotion", rl::test_result_data_race, randomly(200'000)),
      });
}
