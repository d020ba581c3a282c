// Relacy models of the parking lot's core (src/lot/lot.hpp), run on ModelLot and
// RelacySync (tests/model/relacy_sync.hpp): Relacy explores the interleavings of 2 to 4
// simulated threads, the values relaxed loads may read, when a timed park times out and where
// spurious wake-ups happen, and reports data races on the lot's plain variables, deadlocks
// (a thread that sleeps forever: a lost wake-up or a stranded parked thread), livelocks and
// failed assertions.
//
// Guarantees checked (see include/exitleft/parking_lot.hpp):
// - lot.no_lost_wakeup.*: a waiter that parks while a flag is 0 (checked in validate) always
//   wakes once a setter sets the flag and unparks, with timed and untimed parks.
// - lot.handoff.*: the thread unpark_one chose receives the callback's token exactly once; a
//   thread that times out while being chosen reports either Unparked with the token, or
//   TimedOut while the callback saw unparked_threads == 0, never both nor neither; FIFO order.
// - lot.requeue.*: unpark_requeue racing a timeout: the thread ends Unparked or TimedOut, and
//   timed_out() receives the key it was last parked on.
// - lot.word_lock.*: the bucket lock gives mutual exclusion.
// - lot.growth.*: the table grows (also by two threads at once) while threads park and
//   unpark; no parked thread is stranded.
// - lot.filter.*: unpark_filter's Skip and Stop, unpark_all, with keys sharing a bucket.
// - lot.mini_mutex: a mutex on the lot in the style of parking_lot's RawMutex, whose timed-out
//   waiter keeps its "parked" bit exact with was_last_thread.
//
// Seeded bugs, each of which Relacy must report as the failure named (see the comment at each):
// - (a) seeded.validate_outside_lock: the caller checks the state, then parks with a validate
//   that always agrees: DEADLOCK.
// - (b) seeded.weak_sync.*: every memory order of the lot's atomics relaxed: DATA RACE.
// - (c) seeded.timeout_ignores_was_last: a primitive's timed-out waiter clears its "parked"
//   bit although other threads are still parked: DEADLOCK.
// - (d) seeded.store_after_unpark: the setter unparks before it changes the state: DEADLOCK.
//
// Keys are small integers rather than addresses, so that which keys share a bucket does not
// depend on where Relacy places the test (Relacy replays a failing iteration to print its
// history and needs it to run the same way).

// std_sync.hpp only for the hash check in main(); like every exitleft header, before Relacy.
#include "exitleft/detail/std_sync.hpp"
#include "tests/model/model_main.hpp"

namespace exitleft::model {
namespace {

namespace pl = exitleft::parking_lot;
namespace pld = exitleft::parking_lot::detail;
using Kind = pl::ParkResult::Kind;
using pl::FilterOp;
using pl::ParkResult;
using pl::ParkToken;
using pl::RequeueOp;
using pl::UnparkResult;
using pl::UnparkToken;
using Deadline = pld::Deadline;

constexpr auto kRelaxed = std::memory_order::relaxed;
constexpr auto kAcquire = std::memory_order::acquire;
constexpr auto kRelease = std::memory_order::release;

// With ModelLot's 2 buckets, kKeyA and kKeyB share a bucket and kKeyC has the other one
// (checked in main(), against the lot's own hash).
constexpr std::uintptr_t kKeyA = 1;
constexpr std::uintptr_t kKeyB = 3;
constexpr std::uintptr_t kKeyC = 2;

// Any finite deadline: the model has no clock, Relacy decides when a timed wait times out.
constexpr Deadline kFiniteDeadline = Deadline{};
constexpr Deadline kUntimed = pld::kNoDeadline;

// ---- lots on other sync policies ------------------------------------------------------------

// ModelLot's shape for a policy other than RelacySync (the seeded weak policy below).
template <class Sync>
struct LotOf {
  explicit LotOf(std::size_t buckets = 2) : core(buckets) {}
  pld::Lot<Sync> core;
  pld::ThreadData<Sync> threads[ModelLot::kMaxThreads];
};

template <class Sync>
struct FixtureFor {
  using type = LotOf<Sync>;
};
template <>
struct FixtureFor<RelacySync> {
  using type = ModelLot;
};
template <class Sync>
using Fixture = typename FixtureFor<Sync>::type;

// Parks the calling simulated thread on `key` in `lot` (before_sleep does nothing).
template <class Lot, class Validate, class TimedOut>
ParkResult park(Lot& lot, std::uintptr_t key, Validate&& validate, TimedOut&& timed_out,
                ParkToken token, Deadline deadline) {
  return lot.core.park(
      lot.threads[rl::thread_index()], key, validate, [] {}, timed_out, token, deadline);
}

// Seeded bug (b): RelacySync with every memory order of the lot's atomics downgraded to
// relaxed. The bucket lock then orders nothing, so the queue links, tokens and `queued` flags
// (Var, checked by Relacy) are accessed by two threads with no happens-before between them:
// Relacy must report a data race. It shows that the memory orders in parking_lot_core.hpp are
// what makes the lot correct, and that Relacy checks them.
template <class T>
class RelaxedAtomic : public model::Atomic<T> {
  using Base = model::Atomic<T>;
  using Order = std::memory_order;

 public:
  using Base::Base;

  T load(Order = kSeqCst, Loc loc = Loc::current()) const { return Base::load(kRelaxed, loc); }
  void store(T v, Order = kSeqCst, Loc loc = Loc::current()) { Base::store(v, kRelaxed, loc); }
  T exchange(T v, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::exchange(v, kRelaxed, loc);
  }
  bool compare_exchange_strong(T& expected, T desired, Order, Order, Loc loc = Loc::current()) {
    return Base::compare_exchange_strong(expected, desired, kRelaxed, kRelaxed, loc);
  }
  bool compare_exchange_strong(T& expected, T desired, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::compare_exchange_strong(expected, desired, kRelaxed, kRelaxed, loc);
  }
  bool compare_exchange_weak(T& expected, T desired, Order, Order, Loc loc = Loc::current()) {
    return Base::compare_exchange_weak(expected, desired, kRelaxed, kRelaxed, loc);
  }
  bool compare_exchange_weak(T& expected, T desired, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::compare_exchange_weak(expected, desired, kRelaxed, kRelaxed, loc);
  }
  template <class U>
  T fetch_add(U v, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::fetch_add(v, kRelaxed, loc);
  }
  template <class U>
  T fetch_sub(U v, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::fetch_sub(v, kRelaxed, loc);
  }
  T fetch_and(T v, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::fetch_and(v, kRelaxed, loc);
  }
  T fetch_or(T v, Order = kSeqCst, Loc loc = Loc::current()) {
    return Base::fetch_or(v, kRelaxed, loc);
  }
};

struct WeakSync : RelacySync {
  template <class T>
  using Atomic = RelaxedAtomic<T>;
};

// ---- no lost wake-up --------------------------------------------------------------------------

enum class Unpark { One, All };

enum class WakeupBug {
  None,
  // Seeded bug (a): the waiter checks the flag itself and then parks with a validate that
  // always agrees. The setter can set the flag and unpark (finding nobody) between the check
  // and the park; the untimed waiter then sleeps forever: DEADLOCK.
  ValidateOutsideLock,
  // Seeded bug (d): the setter unparks first and sets the flag afterwards. The waiter can
  // check the flag (still 0), miss the unpark and park with a validate that still passes:
  // DEADLOCK.
  StoreAfterUnpark,
};

// Thread 0 waits for `flag` (parking while it is 0); thread 1 sets it and unparks. The waiter
// must finish, and must have been woken exactly as often as the setter reports waking it.
template <class Sync, Unpark kUnpark, bool kTimedPark, WakeupBug kBug = WakeupBug::None>
struct NoLostWakeup : rl::test_suite<NoLostWakeup<Sync, kUnpark, kTimedPark, kBug>, 2> {
  static constexpr UnparkToken kToken = 42;

  Fixture<Sync> lot;
  Atomic<int> flag{0};
  Var<int> woken{0};     // the waiter's Unparked results
  Var<int> unparked{0};  // threads the setter's unpark reports

  void thread(unsigned index) {
    if (index == 0) {
      int woken_here = 0;
      // acquire: pairs with the release store in the setter.
      while (flag.load(kAcquire) == 0) {
        const ParkResult r = park(
            lot, kKeyA,
            [&] {
              if constexpr (kBug == WakeupBug::ValidateOutsideLock) return true;
              // relaxed: read under the bucket lock, which orders it after the setter's
              // store whenever the setter's unpark already ran.
              return flag.load(kRelaxed) == 0;
            },
            [&](const void* key, bool was_last) {
              RL_ASSERT(reinterpret_cast<std::uintptr_t>(key) == kKeyA);
              RL_ASSERT(was_last);
            },
            pl::DEFAULT_PARK_TOKEN, kTimedPark ? kFiniteDeadline : kUntimed);
        if (r.kind == Kind::Unparked) {
          RL_ASSERT(r.token == kToken);
          ++woken_here;
        }
        RL_ASSERT(kTimedPark || r.kind != Kind::TimedOut);
      }
      woken.store(woken_here);
    } else {
      if constexpr (kBug != WakeupBug::StoreAfterUnpark) {
        flag.store(1, kRelease);  // release: pairs with the waiter's acquire load
      }
      int n = 0;
      if constexpr (kUnpark == Unpark::One) {
        lot.core.unpark_one(kKeyA, [&](UnparkResult r) {
          RL_ASSERT(r.unparked_threads <= 1 && !r.have_more_threads && r.requeued_threads == 0);
          n = static_cast<int>(r.unparked_threads);
          return kToken;
        });
      } else {
        n = static_cast<int>(lot.core.unpark_all(kKeyA, kToken));
      }
      if constexpr (kBug == WakeupBug::StoreAfterUnpark) flag.store(1, kRelease);
      unparked.store(n);
    }
  }

  void after() { RL_ASSERT(woken.load() == unparked.load()); }
};

// ---- token hand-off ---------------------------------------------------------------------------

// Thread 0 parks once with a deadline; thread 1 calls unpark_one once. Exactly one of: the
// callback saw the thread (unparked_threads == 1) and the thread returned Unparked with the
// token; or the callback saw nobody and the thread returned TimedOut after timed_out() ran.
template <class Sync>
struct HandoffOne : rl::test_suite<HandoffOne<Sync>, 2> {
  static constexpr UnparkToken kToken = 77;

  Fixture<Sync> lot;
  Var<int> handed{-1};   // the callback's unparked_threads
  Var<int> timeouts{0};  // timed_out() calls
  Var<bool> was_last{false};
  ParkResult result{};

  void thread(unsigned index) {
    if (index == 0) {
      result = park(
          lot, kKeyA, [] { return true; },
          [&](const void* key, bool last) {
            RL_ASSERT(reinterpret_cast<std::uintptr_t>(key) == kKeyA);
            timeouts.store(timeouts.load() + 1);
            was_last.store(last);
          },
          pl::DEFAULT_PARK_TOKEN, kFiniteDeadline);
    } else {
      lot.core.unpark_one(kKeyA, [&](UnparkResult r) {
        RL_ASSERT(!r.have_more_threads);
        handed.store(static_cast<int>(r.unparked_threads));
        return kToken;
      });
    }
  }

  void after() {
    RL_ASSERT(result.kind != Kind::Invalid);
    if (result.kind == Kind::Unparked) {
      RL_ASSERT(result.token == kToken);
      RL_ASSERT(handed.load() == 1);
      RL_ASSERT(timeouts.load() == 0);
    } else {
      RL_ASSERT(handed.load() == 0);
      RL_ASSERT(timeouts.load() == 1);
      RL_ASSERT(was_last.load());
    }
  }
};

// Threads 0 and 1 park once each with a deadline on the same key; thread 2 calls unpark_one
// twice with two different tokens. Every token handed out (callback saw unparked_threads == 1)
// reaches exactly one thread, no thread gets a token that was not handed out, timed-out
// threads ran timed_out(), and a thread queued earlier is chosen first.
template <class Sync>
struct HandoffTwo : rl::test_suite<HandoffTwo<Sync>, 3> {
  static constexpr UnparkToken kFirst = 100;
  static constexpr UnparkToken kSecond = 101;

  Fixture<Sync> lot;
  Var<int> handed[2];        // per unpark_one call: its unparked_threads
  Var<int> queued_order[2];  // thread indices in the order they queued (under the lock)
  Var<int> queued_count{0};
  Var<int> timeouts[2];
  ParkResult result[2]{};

  void thread(unsigned index) {
    if (index < 2) {
      result[index] = park(
          lot, kKeyA,
          [&] {
            // Under the bucket lock: records the order in which threads queue.
            const int n = queued_count.load();
            queued_order[n].store(static_cast<int>(index));
            queued_count.store(n + 1);
            return true;
          },
          [&](const void* key, bool last) {
            RL_ASSERT(reinterpret_cast<std::uintptr_t>(key) == kKeyA);
            timeouts[index].store(timeouts[index].load() + 1);
            (void)last;
          },
          static_cast<ParkToken>(index), kFiniteDeadline);
    } else {
      const UnparkToken tokens[2] = {kFirst, kSecond};
      for (int call = 0; call < 2; ++call) {
        lot.core.unpark_one(kKeyA, [&](UnparkResult r) {
          RL_ASSERT(r.unparked_threads <= 1);
          RL_ASSERT(r.unparked_threads == 1 || !r.have_more_threads);
          handed[call].store(static_cast<int>(r.unparked_threads));
          return tokens[call];
        });
      }
    }
  }

  void after() {
    int received[2] = {0, 0};  // per token
    for (int t = 0; t < 2; ++t) {
      const ParkResult& r = result[t];
      RL_ASSERT(r.kind != Kind::Invalid);
      if (r.kind == Kind::Unparked) {
        RL_ASSERT(r.token == kFirst || r.token == kSecond);
        ++received[r.token == kFirst ? 0 : 1];
        RL_ASSERT(timeouts[t].load() == 0);
      } else {
        RL_ASSERT(timeouts[t].load() == 1);
      }
    }
    for (int call = 0; call < 2; ++call) RL_ASSERT(received[call] == handed[call].load());
    // FIFO: if both were unparked, the first call chose the thread that queued first.
    if (result[0].kind == Kind::Unparked && result[1].kind == Kind::Unparked) {
      RL_ASSERT(queued_count.load() == 2);
      RL_ASSERT(result[queued_order[0].load()].token == kFirst);
    }
  }
};

// ---- requeue racing a timeout ----------------------------------------------------------------

// Thread 0 parks once with a deadline on `kFrom`; thread 1 requeues everything from `kFrom` to
// `kTo`, then unparks all of `kTo`. The thread ends Unparked with the token (it was requeued,
// then woken) or TimedOut, and timed_out() saw the key it was on when it timed out.
template <class Sync, std::uintptr_t kFrom, std::uintptr_t kTo>
struct RequeueVsTimeout : rl::test_suite<RequeueVsTimeout<Sync, kFrom, kTo>, 2> {
  static constexpr UnparkToken kToken = 7;

  Fixture<Sync> lot;
  Var<int> requeued{-1};
  Var<int> woken_by_all{-1};
  Var<int> timeouts{0};
  Var<std::uintptr_t> timed_out_key{0};
  ParkResult result{};

  void thread(unsigned index) {
    if (index == 0) {
      result = park(
          lot, kFrom, [] { return true; },
          [&](const void* key, bool last) {
            RL_ASSERT(last);
            timeouts.store(timeouts.load() + 1);
            timed_out_key.store(reinterpret_cast<std::uintptr_t>(key));
          },
          pl::DEFAULT_PARK_TOKEN, kFiniteDeadline);
    } else {
      lot.core.unpark_requeue(
          kFrom, kTo, [] { return RequeueOp::RequeueAll; },
          [&](RequeueOp op, UnparkResult r) {
            RL_ASSERT(op == RequeueOp::RequeueAll);
            RL_ASSERT(r.unparked_threads == 0 && r.requeued_threads <= 1);
            RL_ASSERT(!r.have_more_threads);
            requeued.store(static_cast<int>(r.requeued_threads));
            return pl::DEFAULT_UNPARK_TOKEN;
          });
      woken_by_all.store(static_cast<int>(lot.core.unpark_all(kTo, kToken)));
    }
  }

  void after() {
    RL_ASSERT(result.kind != Kind::Invalid);
    if (result.kind == Kind::Unparked) {
      RL_ASSERT(result.token == kToken);
      RL_ASSERT(requeued.load() == 1 && woken_by_all.load() == 1);
      RL_ASSERT(timeouts.load() == 0);
    } else {
      RL_ASSERT(woken_by_all.load() == 0);
      RL_ASSERT(timeouts.load() == 1);
      // Requeued (so still queued when the requeue ran): it timed out on kTo, after the
      // requeue and before unpark_all. Otherwise on kFrom: it timed out before the requeue, or
      // parked only after it.
      RL_ASSERT(timed_out_key.load() == (requeued.load() == 1 ? kTo : kFrom));
    }
  }
};

// Threads 0 and 1 park once with a deadline on kKeyA; thread 2 wakes the first and requeues
// the rest to kKeyC (UnparkOneRequeueRest), then unparks all of kKeyC. Each thread is woken at
// most once with the right token, and the counts agree.
template <class Sync>
struct RequeueRest : rl::test_suite<RequeueRest<Sync>, 3> {
  static constexpr UnparkToken kFirst = 5;
  static constexpr UnparkToken kAll = 6;

  Fixture<Sync> lot;
  Var<int> unparked{-1};
  Var<int> requeued{-1};
  Var<int> woken_by_all{-1};
  Var<std::uintptr_t> timed_out_key[2];
  ParkResult result[2]{};

  void thread(unsigned index) {
    if (index < 2) {
      result[index] = park(
          lot, kKeyA, [] { return true; },
          [&](const void* key, bool) {
            timed_out_key[index].store(reinterpret_cast<std::uintptr_t>(key));
          },
          pl::DEFAULT_PARK_TOKEN, kFiniteDeadline);
    } else {
      lot.core.unpark_requeue(
          kKeyA, kKeyC, [] { return RequeueOp::UnparkOneRequeueRest; },
          [&](RequeueOp, UnparkResult r) {
            RL_ASSERT(r.unparked_threads <= 1 && r.unparked_threads + r.requeued_threads <= 2);
            RL_ASSERT(r.unparked_threads == 1 || r.requeued_threads == 0);
            unparked.store(static_cast<int>(r.unparked_threads));
            requeued.store(static_cast<int>(r.requeued_threads));
            return kFirst;
          });
      woken_by_all.store(static_cast<int>(lot.core.unpark_all(kKeyC, kAll)));
    }
  }

  void after() {
    int first = 0, all = 0;
    for (int t = 0; t < 2; ++t) {
      RL_ASSERT(result[t].kind != Kind::Invalid);
      if (result[t].kind == Kind::Unparked) {
        RL_ASSERT(result[t].token == kFirst || result[t].token == kAll);
        ++(result[t].token == kFirst ? first : all);
      } else {
        const std::uintptr_t key = timed_out_key[t].load();
        RL_ASSERT(key == kKeyA || key == kKeyC);
        RL_ASSERT(key == kKeyA || requeued.load() >= 1);
      }
    }
    RL_ASSERT(first == unparked.load());
    RL_ASSERT(all == woken_by_all.load());
    RL_ASSERT(woken_by_all.load() <= requeued.load());
  }
};

// ---- the bucket lock ---------------------------------------------------------------------------

// Three threads increment a plain counter twice each under the word lock. Relacy reports a
// data race if two critical sections are not ordered by the lock.
template <class Sync>
struct WordLockExclusion : rl::test_suite<WordLockExclusion<Sync>, 3> {
  static constexpr int kRounds = 2;
  pld::WordLock<Sync> lock;
  Var<int> counter{0};
  Var<int> inside{0};

  void thread(unsigned) {
    for (int i = 0; i < kRounds; ++i) {
      lock.lock();
      RL_ASSERT(inside.load() == 0);
      inside.store(1);
      counter.store(counter.load() + 1);
      inside.store(0);
      lock.unlock();
    }
  }

  void after() { RL_ASSERT(counter.load() == 3 * kRounds); }
};

// ---- table growth ------------------------------------------------------------------------------

// Thread 0 registers threads until the table has grown 2 -> 4 -> 8 -> 16 buckets; meanwhile
// thread 1 waits for a flag (parking while it is 0) and thread 2 sets it and unparks. A parked
// thread that growth failed to move to the new table would sleep forever (untimed) or miss
// its wake-up (the counts would differ).
template <Unpark kUnpark, bool kTimedPark>
struct Growth : rl::test_suite<Growth<kUnpark, kTimedPark>, 3> {
  static constexpr UnparkToken kToken = 9;
  static constexpr int kRegistrations = 3;

  ModelLot lot;
  Atomic<int> flag{0};
  Var<int> woken{0};
  Var<int> unparked{0};

  void thread(unsigned index) {
    if (index == 0) {
      for (int i = 0; i < kRegistrations; ++i) lot.core.register_thread();
    } else if (index == 1) {
      int woken_here = 0;
      while (flag.load(kAcquire) == 0) {  // acquire: pairs with the release store below
        const ParkResult r = park(
            lot, kKeyA, [&] { return flag.load(kRelaxed) == 0; },
            [](const void* key, bool was_last) {
              RL_ASSERT(reinterpret_cast<std::uintptr_t>(key) == kKeyA && was_last);
            },
            pl::DEFAULT_PARK_TOKEN, kTimedPark ? kFiniteDeadline : kUntimed);
        if (r.kind == Kind::Unparked) {
          RL_ASSERT(r.token == kToken);
          ++woken_here;
        }
      }
      woken.store(woken_here);
    } else {
      flag.store(1, kRelease);  // release: pairs with the waiter's acquire load
      int n = 0;
      if constexpr (kUnpark == Unpark::One) {
        lot.core.unpark_one(kKeyA, [&](UnparkResult r) {
          n = static_cast<int>(r.unparked_threads);
          return kToken;
        });
      } else {
        n = static_cast<int>(lot.core.unpark_all(kKeyA, kToken));
      }
      unparked.store(n);
    }
  }

  void after() {
    RL_ASSERT(woken.load() == unparked.load());
    RL_ASSERT(lot.core.registered_threads() == kRegistrations);
    RL_ASSERT(lot.core.bucket_count() == 16);
  }
};

// Two threads grow the table at the same time (each registers 2 threads: 2 -> 4 -> 8 -> 16
// buckets between them) while thread 2 waits for a flag; thread 0 sets it and unparks after
// its registrations. Only one of two racing growers may publish its table: the other must see
// the table changed and start over, or it would replace a table that already holds the parked
// thread (stranding it) and lose the winner's table (a leak Relacy reports).
struct GrowthConcurrent : rl::test_suite<GrowthConcurrent, 3> {
  static constexpr UnparkToken kToken = 11;

  ModelLot lot;
  Atomic<int> flag{0};
  Var<int> woken{0};
  Var<int> unparked{0};

  void thread(unsigned index) {
    if (index < 2) {
      lot.core.register_thread();
      lot.core.register_thread();
      if (index == 1) return;
      flag.store(1, kRelease);  // release: pairs with the waiter's acquire load
      unparked.store(static_cast<int>(lot.core.unpark_all(kKeyA, kToken)));
      return;
    }
    int woken_here = 0;
    while (flag.load(kAcquire) == 0) {  // acquire: pairs with the release store above
      const ParkResult r = park(
          lot, kKeyA, [&] { return flag.load(kRelaxed) == 0; },
          [](const void*, bool) { RL_ASSERT(false); }, pl::DEFAULT_PARK_TOKEN, kUntimed);
      if (r.kind == Kind::Unparked) {
        RL_ASSERT(r.token == kToken);
        ++woken_here;
      }
    }
    woken.store(woken_here);
  }

  void after() {
    RL_ASSERT(woken.load() == unparked.load());
    RL_ASSERT(lot.core.registered_threads() == 4);
    RL_ASSERT(lot.core.bucket_count() == 16);
  }
};

// ---- unpark_filter and unpark_all on keys sharing a bucket -------------------------------------

// Threads 0 and 1 wait on kKeyA (park tokens 1 and 2), thread 2 on kKeyB, which shares their
// bucket (park token 3); each parks while its own flag is 0. Thread 3:
//   1. sets flag 0, unpark_filter(kKeyA): Unpark token 1, Skip token 2 (with token 101);
//   2. unpark_filter(kKeyA): Stop at once (token 102): nothing may wake;
//   3. sets flag 1, unpark_all(kKeyA) (token 103);
//   4. sets flag 2, unpark_all(kKeyB) (token 104).
// Thread 0 can only be woken by step 1 (it either was queued then, or its validate sees flag 0
// set), thread 1 only by step 3 (Skip and Stop leave it parked), thread 2 only by step 4.
// The filter never sees thread 2, and never runs again after Stop.
template <class Sync>
struct FilterSkipStop : rl::test_suite<FilterSkipStop<Sync>, 4> {
  static constexpr std::uintptr_t kKeys[3] = {kKeyA, kKeyA, kKeyB};
  static constexpr UnparkToken kExpected[3] = {101, 103, 104};

  Fixture<Sync> lot;
  Atomic<int> go[3];
  Var<int> woken[3];
  Var<int> unparked_first{-1};  // step 1's unparked_threads
  Var<int> unparked_all[2];     // steps 3 and 4

  void thread(unsigned index) {
    if (index < 3) {
      int woken_here = 0;
      // acquire: pairs with the release stores in thread 3.
      while (go[index].load(kAcquire) == 0) {
        const ParkResult r = park(
            lot, kKeys[index], [&] { return go[index].load(kRelaxed) == 0; },
            [](const void*, bool) { RL_ASSERT(false); }, static_cast<ParkToken>(index + 1),
            kUntimed);
        if (r.kind == Kind::Unparked) {
          RL_ASSERT(r.token == kExpected[index]);
          ++woken_here;
        }
      }
      woken[index].store(woken_here);
      return;
    }

    go[0].store(1, kRelease);
    int unpark = 0, skip = 0;
    lot.core.unpark_filter(
        kKeyA,
        [&](ParkToken token) {
          RL_ASSERT(token == 1 || token == 2);
          if (token == 1) {
            ++unpark;
            return FilterOp::Unpark;
          }
          ++skip;
          return FilterOp::Skip;
        },
        [&](UnparkResult r) {
          RL_ASSERT(r.unparked_threads == static_cast<std::size_t>(unpark));
          RL_ASSERT(r.have_more_threads == (skip > 0));
          unparked_first.store(unpark);
          return UnparkToken{101};
        });

    int calls = 0;
    lot.core.unpark_filter(
        kKeyA,
        [&](ParkToken token) {
          RL_ASSERT(calls == 0);  // nothing after Stop
          RL_ASSERT(token == 2);  // thread 0 cannot be queued any more
          ++calls;
          return FilterOp::Stop;
        },
        [&](UnparkResult r) {
          RL_ASSERT(r.unparked_threads == 0);
          RL_ASSERT(r.have_more_threads == (calls == 1));
          return UnparkToken{102};
        });

    go[1].store(1, kRelease);
    unparked_all[0].store(static_cast<int>(lot.core.unpark_all(kKeyA, 103)));
    go[2].store(1, kRelease);
    unparked_all[1].store(static_cast<int>(lot.core.unpark_all(kKeyB, 104)));
  }

  void after() {
    RL_ASSERT(woken[0].load() == unparked_first.load());
    RL_ASSERT(woken[1].load() == unparked_all[0].load());
    RL_ASSERT(woken[2].load() == unparked_all[1].load());
  }
};

// ---- a primitive's state word: was_last_thread -------------------------------------------------

enum class MutexBug {
  None,
  // Seeded bug (c): the timed-out waiter clears the "parked" bit without looking at
  // was_last_thread. If another thread is still parked, the bit is gone while it sleeps; the
  // holder's unlock takes the fast path (no parked bit, no unpark_one) and the remaining
  // waiter sleeps forever: DEADLOCK.
  TimeoutIgnoresWasLast,
};

// A mutex on one word in the style of parking_lot's RawMutex (without the fair hand-off):
// bit 0 locked, bit 1 "threads may be parked". A waiter sets the parked bit and parks while
// the word is exactly locked|parked; a timed-out waiter clears the bit only if it was the last
// thread parked; unlock's slow path wakes one thread and keeps the parked bit iff threads remain.
// Thread 2 holds the mutex at the start; thread 0 locks with a deadline, thread 1 without. All
// that lock it finish, mutual exclusion holds, and the word ends unlocked with no parked bit.
template <MutexBug kBug>
struct MiniMutex : rl::test_suite<MiniMutex<kBug>, 3> {
  static constexpr std::uint32_t kLocked = 1, kParked = 2;

  ModelLot lot;
  Atomic<std::uint32_t> state{kLocked};
  Var<int> counter{0};
  Var<int> acquired_timed{0};

  bool lock(Deadline deadline) {
    for (;;) {
      std::uint32_t s = state.load(kRelaxed);
      if ((s & kLocked) == 0) {
        // acquire: pairs with the release in unlock().
        if (state.compare_exchange_weak(s, s | kLocked, kAcquire, kRelaxed)) return true;
        continue;
      }
      if ((s & kParked) == 0 && !state.compare_exchange_weak(s, s | kParked, kRelaxed, kRelaxed)) {
        continue;
      }
      const ParkResult r = park(
          lot, kKeyA, [&] { return state.load(kRelaxed) == (kLocked | kParked); },
          [&](const void*, bool was_last) {
            if (kBug == MutexBug::TimeoutIgnoresWasLast || was_last) {
              state.fetch_and(~kParked, kRelaxed);
            }
          },
          pl::DEFAULT_PARK_TOKEN, deadline);
      if (r.kind == Kind::TimedOut) return false;
    }
  }

  void unlock() {
    std::uint32_t s = kLocked;
    // release: pairs with the acquire in lock().
    if (state.compare_exchange_strong(s, 0, kRelease, kRelaxed)) return;
    lot.core.unpark_one(kKeyA, [&](UnparkResult r) {
      // release: pairs with the acquire in lock() (under the bucket lock, so no thread can
      // park between the decision and the store).
      state.store(r.have_more_threads ? kParked : 0, kRelease);
      return pl::DEFAULT_UNPARK_TOKEN;
    });
  }

  // Thread 2 holds the mutex for a while (scheduling points only), so that random schedules
  // often see both waiters parked before it unlocks.
  static constexpr int kHoldSteps = 24;

  void critical_section() { counter.store(counter.load() + 1); }

  void thread(unsigned index) {
    if (index == 2) {
      critical_section();
      for (int i = 0; i < kHoldSteps; ++i) rl::yield(1, RL_INFO);
      unlock();
    } else if (lock(index == 0 ? kFiniteDeadline : kUntimed)) {
      if (index == 0) acquired_timed.store(1);
      critical_section();
      unlock();
    } else {
      RL_ASSERT(index == 0);
    }
  }

  void after() {
    RL_ASSERT(counter.load() == 2 + acquired_timed.load());
    RL_ASSERT(state.load(kRelaxed) == 0);
  }
};

// Checks that kKeyA and kKeyB share a bucket of a 2-bucket table and kKeyC does not, with the
// lot's own hash (a table on std::atomic, outside any model).
bool keys_share_buckets_as_intended() {
  const pld::HashTable<exitleft::detail::StdSync> table(2, nullptr);
  return table.index_of(kKeyA) == table.index_of(kKeyB) &&
         table.index_of(kKeyA) != table.index_of(kKeyC);
}

}  // namespace
}  // namespace exitleft::model

int main(int argc, char** argv) {
  using namespace exitleft::model;
  if (!keys_share_buckets_as_intended()) {
    std::printf("the model's keys no longer share buckets as the models need: pick new keys\n");
    return 1;
  }
  using R = RelacySync;
  using W = WeakSync;
  // Two-thread models: every schedule with up to 2 or 3 preemptions (Relacy's exhaustive
  // sched_full never finishes here: a thread blocked in a futex wait may wake spuriously at
  // every scheduling point, and the word lock spins, so the tree has no bound). Models with
  // three or four threads: random schedules (a context bound of even 1 does not finish).
  return run_models(
      argc, argv,
      {
          // no lost wake-up
          expect_pass<NoLostWakeup<R, Unpark::One, false>>("lot.no_lost_wakeup.one.untimed",
                                                           bounded(3)),
          expect_pass<NoLostWakeup<R, Unpark::All, false>>("lot.no_lost_wakeup.all.untimed",
                                                           bounded(3)),
          expect_pass<NoLostWakeup<R, Unpark::One, true>>("lot.no_lost_wakeup.one.timed",
                                                          bounded(3)),
          expect_pass<NoLostWakeup<R, Unpark::All, true>>("lot.no_lost_wakeup.all.timed",
                                                          bounded(3)),
          // token hand-off
          expect_pass<HandoffOne<R>>("lot.handoff.one_waiter", bounded(3)),
          expect_pass<HandoffTwo<R>>("lot.handoff.two_waiters", randomly(1'000'000)),
          // requeue
          expect_pass<RequeueVsTimeout<R, kKeyA, kKeyC>>("lot.requeue.timeout.two_buckets",
                                                         bounded(2)),
          expect_pass<RequeueVsTimeout<R, kKeyA, kKeyC>>("lot.requeue.timeout.two_buckets.random",
                                                         randomly(300'000)),
          expect_pass<RequeueVsTimeout<R, kKeyA, kKeyB>>("lot.requeue.timeout.one_bucket",
                                                         bounded(2)),
          expect_pass<RequeueVsTimeout<R, kKeyA, kKeyB>>("lot.requeue.timeout.one_bucket.random",
                                                         randomly(300'000)),
          expect_pass<RequeueRest<R>>("lot.requeue.unpark_one_requeue_rest", randomly(500'000)),
          // the bucket lock
          expect_pass<WordLockExclusion<R>>("lot.word_lock.exclusion", bounded(3)),
          expect_pass<WordLockExclusion<R>>("lot.word_lock.exclusion.random", randomly(300'000)),
          // growth
          expect_pass<Growth<Unpark::One, false>>("lot.growth.one.untimed", randomly(300'000)),
          expect_pass<Growth<Unpark::All, true>>("lot.growth.all.timed", randomly(300'000)),
          expect_pass<GrowthConcurrent>("lot.growth.concurrent_growers", randomly(300'000)),
          // filter
          expect_pass<FilterSkipStop<R>>("lot.filter.skip_stop_shared_bucket", randomly(500'000)),
          // a primitive's state word
          expect_pass<MiniMutex<MutexBug::None>>("lot.mini_mutex", randomly(1'000'000)),
          // seeded bugs
          expect_fail<NoLostWakeup<R, Unpark::All, false, WakeupBug::ValidateOutsideLock>>(
              "seeded.validate_outside_lock", rl::test_result_deadlock, bounded(2)),
          expect_fail<NoLostWakeup<W, Unpark::All, false>>("seeded.weak_sync.no_lost_wakeup",
                                                           rl::test_result_data_race, bounded(2)),
          expect_fail<WordLockExclusion<W>>("seeded.weak_sync.word_lock", rl::test_result_data_race,
                                            bounded(2)),
          expect_fail<MiniMutex<MutexBug::TimeoutIgnoresWasLast>>(
              "seeded.timeout_ignores_was_last", rl::test_result_deadlock, randomly(1'000'000)),
          expect_fail<NoLostWakeup<R, Unpark::One, false, WakeupBug::StoreAfterUnpark>>(
              "seeded.store_after_unpark", rl::test_result_deadlock, bounded(2)),
      });
}
