// The parking lot's contract (SPEC "Parking lot"), run on every backend variant of the library.
#include "exitleft/parking_lot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "exitleft/detail/std_sync.hpp"
#include "src/lot/lot.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/wait_until.hpp"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if !defined(_WIN32)
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace pl = exitleft::parking_lot;
namespace pld = exitleft::parking_lot::detail;
using namespace std::chrono_literals;
using exitleft::test::eventually;
using Clock = std::chrono::steady_clock;
using Kind = pl::ParkResult::Kind;

namespace {

// A thread parked through the lot, with hooks to observe it. `parked` turns true in
// before_sleep, i.e. once the thread is queued.
struct Parker {
  explicit Parker(const void* key, pl::ParkToken token = 0,
                  std::optional<Clock::time_point> deadline = std::nullopt) {
    thread = std::thread([this, key, token, deadline] {
      result = pl::park(
          key, [] { return true; }, [this] { parked.store(true); },
          [this](const void* k, bool last) {
            timed_out_key = k;
            was_last = last;
          },
          token, deadline);
      done.store(true);
    });
  }
  ~Parker() {
    if (thread.joinable()) thread.join();
  }
  Parker(const Parker&) = delete;
  Parker& operator=(const Parker&) = delete;

  void wait_parked() {
    ASSERT_TRUE(eventually([&] { return parked.load(); }));
  }
  void join() { thread.join(); }

  std::thread thread;
  std::atomic<bool> parked{false};
  std::atomic<bool> done{false};
  pl::ParkResult result{Kind::Invalid, 0};
  const void* timed_out_key = nullptr;
  bool was_last = false;
};

pl::UnparkToken token_of(pl::UnparkResult) {
  return 0;
}

TEST(ParkingLot, ValidateFalseReturnsInvalidWithoutSleeping) {
  int key = 0;
  bool before_sleep_ran = false;
  const auto r = pl::park(
      &key, [] { return false; }, [&] { before_sleep_ran = true; }, [](const void*, bool) {}, 0,
      std::nullopt);
  EXPECT_EQ(r.kind, Kind::Invalid);
  EXPECT_FALSE(before_sleep_ran);
}

TEST(ParkingLot, PastDeadlineTimesOutAndCallsTimedOut) {
  int key = 0;
  const void* seen_key = nullptr;
  bool seen_last = false;
  const auto r = pl::park(
      &key, [] { return true; }, [] {},
      [&](const void* k, bool last) {
        seen_key = k;
        seen_last = last;
      },
      0, Clock::now() - 1s);
  EXPECT_EQ(r.kind, Kind::TimedOut);
  EXPECT_EQ(seen_key, &key);
  EXPECT_TRUE(seen_last);
  EXPECT_EQ(pl::unpark_all(&key, 0), 0u) << "a timed-out thread must leave the queue";
}

TEST(ParkingLot, TimedOutReportsWhetherOtherThreadsRemain) {
  int key = 0;
  Parker other(&key);
  other.wait_parked();
  const void* seen_key = nullptr;
  bool seen_last = true;
  const auto r = pl::park(
      &key, [] { return true; }, [] {},
      [&](const void* k, bool last) {
        seen_key = k;
        seen_last = last;
      },
      0, Clock::now() + 1ms);
  EXPECT_EQ(r.kind, Kind::TimedOut);
  EXPECT_EQ(seen_key, &key);
  EXPECT_FALSE(seen_last) << "another thread is still parked on the key";
  EXPECT_EQ(pl::unpark_all(&key, 0), 1u);
}

TEST(ParkingLot, TimedParkWokenBeforeDeadlineReturnsUnparked) {
  int key = 0;
  Parker p(&key, 0, Clock::now() + 1h);
  p.wait_parked();
  EXPECT_EQ(pl::unpark_all(&key, 42), 1u);
  p.join();
  EXPECT_EQ(p.result.kind, Kind::Unparked);
  EXPECT_EQ(p.result.token, 42u);
  EXPECT_EQ(p.timed_out_key, nullptr);
}

#if defined(__linux__)
// The same-CPU hint (src/lot/lot.hpp): a thread woken by an unparker that ran on its own CPU
// remembers it, and the signal waits then park without spinning; woken from another CPU, it
// forgets it. Both threads are pinned, so the CPUs compared are known.
TEST(ParkingLot, AWokenThreadRemembersWhetherItsUnparkerSharedItsCpu) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs to pin threads on";
  if (exitleft::detail::StdSync::current_cpu() < 0) GTEST_SKIP() << "sched_getcpu() fails here";
  const auto pin = [](int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
  };
  // One waiter, woken four times, alternately from its own CPU and from the other one: each
  // answer must replace the one before (a new thread starts with "no").
  const bool rounds[] = {true, false, true, false};
  int key = 0;
  std::atomic<bool> pinned_ok{true};
  std::atomic<int> parks{0};
  int hints[4] = {-1, -1, -1, -1};
  int woke_on[4] = {-1, -1, -1, -1};
  std::thread waiter([&] {
    if (!pin(cpus[0])) pinned_ok.store(false);
    for (int i = 0; i < 4; ++i) {
      const pl::ParkResult r = pl::park(
          &key, [] { return true; }, [&] { parks.fetch_add(1); }, [](const void*, bool) {}, 0,
          Clock::now() + 30s);
      woke_on[i] = exitleft::detail::StdSync::current_cpu();
      hints[i] =
          r.kind == Kind::Unparked ? int{exitleft::detail::StdSync::woken_beside_waker()} : -2;
    }
  });
  for (int i = 0; i < 4; ++i) {
    std::thread waker([&] {
      if (!pin(rounds[i] ? cpus[0] : cpus[1])) pinned_ok.store(false);
      // Until the waiter is queued for round i: unpark_one reports whether it took a thread.
      const auto deadline = Clock::now() + 30s;
      while ((parks.load() <= i || pl::unpark_one(&key, token_of).unparked_threads == 0) &&
             Clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    });
    waker.join();
  }
  waiter.join();
  ASSERT_TRUE(pinned_ok.load());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(woke_on[i], cpus[0]) << "round " << i;
    EXPECT_EQ(hints[i], rounds[i] ? 1 : 0)
        << "round " << i << (rounds[i] ? ": same CPU" : ": other CPU");
  }
}
#endif

TEST(ParkingLot, UnparkOneDeliversItsTokenAndReportsTheQueue) {
  int key = 0;
  Parker a(&key);
  a.wait_parked();
  Parker b(&key);
  b.wait_parked();
  pl::UnparkResult seen{};
  const auto r = pl::unpark_one(&key, [&](pl::UnparkResult res) {
    seen = res;
    return pl::UnparkToken{7};
  });
  EXPECT_EQ(r.unparked_threads, 1u);
  EXPECT_TRUE(r.have_more_threads);
  EXPECT_EQ(seen.unparked_threads, 1u);
  EXPECT_TRUE(seen.have_more_threads);
  const auto r2 = pl::unpark_one(&key, [](pl::UnparkResult) { return pl::UnparkToken{8}; });
  EXPECT_EQ(r2.unparked_threads, 1u);
  EXPECT_FALSE(r2.have_more_threads);
  a.join();
  b.join();
  EXPECT_EQ(a.result.token, 7u);
  EXPECT_EQ(b.result.token, 8u);
}

TEST(ParkingLot, UnparkOneWithNobodyParkedStillRunsTheCallback) {
  int key = 0;
  bool ran = false;
  const auto r = pl::unpark_one(&key, [&](pl::UnparkResult res) {
    ran = true;
    EXPECT_EQ(res.unparked_threads, 0u);
    EXPECT_FALSE(res.be_fair);
    return pl::UnparkToken{0};
  });
  EXPECT_TRUE(ran);
  EXPECT_EQ(r.unparked_threads, 0u);
}

TEST(ParkingLot, UnparkOneWakesInFifoOrder) {
  int key = 0;
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int i = 0; i < kThreads; ++i) {
    parkers.push_back(std::make_unique<Parker>(&key));
    parkers.back()->wait_parked();  // queue them in a known order
  }
  for (int i = 0; i < kThreads; ++i) {
    pl::unpark_one(&key, [i](pl::UnparkResult) { return pl::UnparkToken(i); });
  }
  for (int i = 0; i < kThreads; ++i) {
    parkers[i]->join();
    EXPECT_EQ(parkers[i]->result.token, pl::UnparkToken(i)) << "thread " << i;
  }
}

TEST(ParkingLot, UnparkAllWakesEveryThreadOnTheKeyOnly) {
  int key = 0, other_key = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int i = 0; i < 5; ++i) parkers.push_back(std::make_unique<Parker>(&key));
  Parker bystander(&other_key);
  for (auto& p : parkers) p->wait_parked();
  bystander.wait_parked();
  EXPECT_EQ(pl::unpark_all(&key, 3), 5u);
  for (auto& p : parkers) {
    p->join();
    EXPECT_EQ(p->result.kind, Kind::Unparked);
    EXPECT_EQ(p->result.token, 3u);
  }
  EXPECT_FALSE(bystander.done.load());
  EXPECT_EQ(pl::unpark_all(&other_key, 0), 1u);
}

// Group wake-ups (src/lot/lot.hpp): an unpark that releases several threads wakes the
// group word of their key with one system call, which also wakes every thread parked on another
// key of the same group. Those must see that they were not released and sleep on.
TEST(ParkingLot, AGroupWakeUpReleasesOnlyTheThreadsOfItsKey) {
  int keys[2 * exitleft::parking_lot::detail::kGroupWords + 1] = {};
  // Two distinct keys that share a group word (pigeonhole: there are more keys than groups).
  const void* woken_key = &keys[0];
  const void* bystander_key = nullptr;
  for (int& k : keys) {
    if (&k != woken_key && pld::group_index(reinterpret_cast<std::uintptr_t>(&k)) ==
                               pld::group_index(reinterpret_cast<std::uintptr_t>(woken_key))) {
      bystander_key = &k;
      break;
    }
  }
  ASSERT_NE(bystander_key, nullptr);
  // Two bystanders: the one that joins the other sleeps on the group word as well.
  Parker bystander(bystander_key);
  bystander.wait_parked();
  Parker joiner(bystander_key);
  joiner.wait_parked();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<Parker>> parkers;
    for (int i = 0; i < 3; ++i) parkers.push_back(std::make_unique<Parker>(woken_key));
    for (auto& p : parkers) p->wait_parked();
    EXPECT_EQ(pl::unpark_all(woken_key, 7), 3u);
    for (auto& p : parkers) {
      p->join();
      EXPECT_EQ(p->result.kind, Kind::Unparked);
      EXPECT_EQ(p->result.token, 7u);
    }
  }
  std::this_thread::sleep_for(20ms);  // a wrongly released bystander would be done by now
  EXPECT_FALSE(bystander.done.load());
  EXPECT_FALSE(joiner.done.load());
  EXPECT_EQ(pl::unpark_all(bystander_key, 1), 2u);
  bystander.join();
  joiner.join();
  EXPECT_EQ(bystander.result.kind, Kind::Unparked);
  EXPECT_EQ(joiner.result.kind, Kind::Unparked);
}

// Threads requeued from many keys sleep on the group words of their first keys; releasing them
// all at once (more groups than one release bumps) must still wake every one of them.
TEST(ParkingLot, UnparkAllAfterRequeuesFromManyKeysWakesEveryThread) {
  constexpr int kKeys = 9;
  int from[kKeys] = {};
  int to = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int k = 0; k < kKeys; ++k) {
    for (int i = 0; i < 2; ++i) parkers.push_back(std::make_unique<Parker>(&from[k]));
  }
  for (auto& p : parkers) p->wait_parked();
  for (int k = 0; k < kKeys; ++k) {
    const auto r = pl::unpark_requeue(
        &from[k], &to, [] { return pl::RequeueOp::RequeueAll; },
        [](pl::RequeueOp, pl::UnparkResult) { return pl::UnparkToken{0}; });
    EXPECT_EQ(r.requeued_threads, 2u);
  }
  EXPECT_EQ(pl::unpark_all(&to, 4), 2u * kKeys);
  for (auto& p : parkers) {
    p->join();
    EXPECT_EQ(p->result.kind, Kind::Unparked);
    EXPECT_EQ(p->result.token, 4u);
  }
}

TEST(ParkingLot, RequeueAllMovesThreadsToTheNewKey) {
  int from = 0, to = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int i = 0; i < 4; ++i) {
    parkers.push_back(std::make_unique<Parker>(&from));
    parkers.back()->wait_parked();
  }
  const auto r = pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::RequeueAll; },
      [](pl::RequeueOp op, pl::UnparkResult res) {
        EXPECT_EQ(op, pl::RequeueOp::RequeueAll);
        EXPECT_EQ(res.requeued_threads, 4u);
        return pl::UnparkToken{0};
      });
  EXPECT_EQ(r.unparked_threads, 0u);
  EXPECT_EQ(r.requeued_threads, 4u);
  EXPECT_EQ(pl::unpark_all(&from, 0), 0u);
  // FIFO order survives the move.
  for (int i = 0; i < 4; ++i) {
    pl::unpark_one(&to, [i](pl::UnparkResult) { return pl::UnparkToken(i + 100); });
  }
  for (int i = 0; i < 4; ++i) {
    parkers[i]->join();
    EXPECT_EQ(parkers[i]->result.token, pl::UnparkToken(i + 100));
  }
}

TEST(ParkingLot, RequeueUnparkOneRequeueRest) {
  int from = 0, to = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int i = 0; i < 3; ++i) {
    parkers.push_back(std::make_unique<Parker>(&from));
    parkers.back()->wait_parked();
  }
  const auto r = pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::UnparkOneRequeueRest; },
      [](pl::RequeueOp, pl::UnparkResult) { return pl::UnparkToken{9}; });
  EXPECT_EQ(r.unparked_threads, 1u);
  EXPECT_EQ(r.requeued_threads, 2u);
  parkers[0]->join();
  EXPECT_EQ(parkers[0]->result.token, 9u);
  EXPECT_EQ(pl::unpark_all(&to, 1), 2u);
}

TEST(ParkingLot, RequeueOneAndUnparkOneLeaveTheRest) {
  int from = 0, to = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (int i = 0; i < 3; ++i) {
    parkers.push_back(std::make_unique<Parker>(&from));
    parkers.back()->wait_parked();
  }
  auto r = pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::RequeueOne; },
      [](pl::RequeueOp, pl::UnparkResult) { return pl::UnparkToken{0}; });
  EXPECT_EQ(r.requeued_threads, 1u);
  EXPECT_TRUE(r.have_more_threads);
  r = pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::UnparkOne; },
      [](pl::RequeueOp, pl::UnparkResult) { return pl::UnparkToken{5}; });
  EXPECT_EQ(r.unparked_threads, 1u);
  EXPECT_EQ(r.requeued_threads, 0u);
  EXPECT_TRUE(r.have_more_threads) << "the third thread is still parked on `from`";
  parkers[1]->join();  // the second in line: the first was moved to `to`
  EXPECT_EQ(parkers[1]->result.token, 5u);
  EXPECT_EQ(pl::unpark_all(&to, 0), 1u);
  EXPECT_EQ(pl::unpark_all(&from, 0), 1u);
}

TEST(ParkingLot, RequeueAbortChangesNothing) {
  int from = 0, to = 0;
  Parker p(&from);
  p.wait_parked();
  bool called = false;
  const auto r = pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::Abort; },
      [&](pl::RequeueOp, pl::UnparkResult) {
        called = true;
        return pl::UnparkToken{0};
      });
  EXPECT_FALSE(called);
  EXPECT_EQ(r.unparked_threads + r.requeued_threads, 0u);
  EXPECT_EQ(pl::unpark_all(&from, 0), 1u);
}

TEST(ParkingLot, TimedOutAfterRequeueLeavesTheNewQueue) {
  int from = 0, to = 0;
  Parker p(&from, 0, Clock::now() + 200ms);
  p.wait_parked();
  pl::unpark_requeue(
      &from, &to, [] { return pl::RequeueOp::RequeueAll; },
      [](pl::RequeueOp, pl::UnparkResult) { return pl::UnparkToken{0}; });
  p.join();
  EXPECT_EQ(p.result.kind, Kind::TimedOut);
  EXPECT_EQ(p.timed_out_key, &to) << "timed_out sees the key the thread was parked on last";
  EXPECT_TRUE(p.was_last);
  EXPECT_EQ(pl::unpark_all(&to, 0), 0u);
}

TEST(ParkingLot, FilterSkipAndStop) {
  int key = 0;
  std::vector<std::unique_ptr<Parker>> parkers;
  for (pl::ParkToken t : {1, 2, 3, 4, 5}) {
    parkers.push_back(std::make_unique<Parker>(&key, t));
    parkers.back()->wait_parked();
  }
  // Wake the odd tokens, skip the even ones, stop at 5.
  std::vector<pl::ParkToken> seen;
  const auto r = pl::unpark_filter(
      &key,
      [&](pl::ParkToken t) {
        seen.push_back(t);
        if (t == 5) return pl::FilterOp::Stop;
        return t % 2 == 1 ? pl::FilterOp::Unpark : pl::FilterOp::Skip;
      },
      [](pl::UnparkResult res) {
        EXPECT_EQ(res.unparked_threads, 2u);
        return pl::UnparkToken{77};
      });
  EXPECT_EQ(seen, (std::vector<pl::ParkToken>{1, 2, 3, 4, 5}));
  EXPECT_EQ(r.unparked_threads, 2u);
  EXPECT_TRUE(r.have_more_threads);
  parkers[0]->join();
  parkers[2]->join();
  EXPECT_EQ(parkers[0]->result.token, 77u);
  EXPECT_EQ(parkers[2]->result.token, 77u);
  for (int i : {1, 3, 4}) EXPECT_FALSE(parkers[i]->done.load());
  EXPECT_EQ(pl::unpark_all(&key, 0), 3u);
}

TEST(ParkingLot, BeFairTurnsTrueUnderConstantContention) {
  // Two threads hand a key back and forth; within a generous time some unpark must say
  // be_fair (the goal is about every 0.5 ms per bucket).
  int key = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> fair{0};
  std::thread parker([&] {
    while (!stop.load()) {
      pl::park(
          &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, Clock::now() + 5ms);
    }
  });
  const auto deadline = Clock::now() + exitleft::test::kPatience;
  while (fair.load() < 3 && Clock::now() < deadline) {
    pl::unpark_one(&key, [&](pl::UnparkResult r) {
      if (r.be_fair) fair.fetch_add(1);
      return pl::UnparkToken{0};
    });
    std::this_thread::sleep_for(100us);
  }
  stop.store(true);
  pl::unpark_all(&key, 0);
  parker.join();
  EXPECT_GE(fair.load(), 3);
}

TEST(ParkingLot, ThousandThreadsOnDistinctKeysAllWakeAndTheTableGrows) {
  constexpr int kThreads = 1000;
  const std::size_t buckets_before = pl::detail::bucket_count();
  std::vector<int> keys(kThreads);
  std::atomic<int> parked{0}, woken{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const auto r = pl::park(
          &keys[i], [] { return true; }, [&] { parked.fetch_add(1); }, [](const void*, bool) {}, 0,
          Clock::now() + 2min);
      if (r.kind == Kind::Unparked && r.token == pl::UnparkToken(i)) woken.fetch_add(1);
    });
  }
  ASSERT_TRUE(eventually([&] { return parked.load() == kThreads; }, 60s));
  EXPECT_GE(pl::detail::bucket_count(), 3u * kThreads) << "load factor";
  EXPECT_GT(pl::detail::bucket_count(), buckets_before);
  std::size_t unparked = 0;
  for (int i = 0; i < kThreads; ++i) {
    unparked += pl::unpark_one(&keys[i], [i](pl::UnparkResult) {
                  return pl::UnparkToken(i);
                }).unparked_threads;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unparked, std::size_t{kThreads}) << "a thread was stranded in an old table";
  EXPECT_EQ(woken.load(), kThreads);
}

TEST(ParkingLot, ThreadsCreatedAndDestroyedInLoopsUnregister) {
  const std::size_t before = pl::detail::registered_threads();
  for (int round = 0; round < 200; ++round) {
    int key = 0;
    std::thread t([&] {
      pl::park(
          &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, Clock::now());
    });
    t.join();
  }
  // Other tests' threads may still be exiting; ours all did.
  EXPECT_LE(pl::detail::registered_threads(), before + 1);
}

TEST(ParkingLot, ParkAndUnparkAllocateNothingAfterTheFirstPark) {
  int key = 0;
  auto park_once = [&](std::optional<Clock::time_point> deadline) {
    return pl::park(
        &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, deadline);
  };
  park_once(Clock::now());  // this thread's first park may allocate its thread data
  std::atomic<bool> warmed{false}, go{false};
  std::thread other([&] {
    park_once(Clock::now());
    warmed.store(true);
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 100; ++i) park_once(Clock::now() + 1min);
  });
  while (!warmed.load()) std::this_thread::yield();
  exitleft::test::AllocationCounter counter;
  go.store(true);
  for (int i = 0; i < 100; ++i) {
    while (pl::unpark_one(&key, token_of).unparked_threads == 0) std::this_thread::yield();
    park_once(Clock::now());  // times out at once: the timed-out path allocates nothing either
  }
  other.join();
  EXPECT_EQ(counter.count(), 0u);
}

TEST(ParkingLot, StressNoWakeUpIsLost) {
  // Several keys, parkers with and without deadlines, and unparkers. Every unpark that reports
  // a woken thread must correspond to exactly one Unparked result.
  constexpr int kKeys = 3, kParkers = 6, kRounds = 3000;
  int keys[kKeys];
  std::atomic<std::size_t> woken_by_unparkers{0}, unparked_results{0};
  std::atomic<int> running{kParkers};
  std::vector<std::thread> threads;
  for (int p = 0; p < kParkers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kRounds; ++i) {
        const void* key = &keys[(p + i) % kKeys];
        const std::optional<Clock::time_point> deadline =
            (i % 3 == 0) ? std::optional(Clock::now() + 50us) : std::optional(Clock::now() + 1s);
        if (pl::park(
                key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, deadline)
                .kind == Kind::Unparked) {
          unparked_results.fetch_add(1);
        }
      }
      running.fetch_sub(1);
    });
  }
  std::thread unparker([&] {
    int i = 0;
    while (running.load() > 0) {
      const void* key = &keys[i++ % kKeys];
      if (i % 4 == 0) {
        woken_by_unparkers.fetch_add(pl::unpark_all(key, 0));
      } else {
        woken_by_unparkers.fetch_add(pl::unpark_one(key, token_of).unparked_threads);
      }
    }
  });
  for (auto& t : threads) t.join();
  unparker.join();
  EXPECT_EQ(woken_by_unparkers.load(), unparked_results.load());
}

#if !defined(_WIN32)
TEST(ParkingLot, ForkChildCanParkAndUnparkWhileParentThreadsWereParked) {
  // parking_lot_core issue #515: a child inherits bucket locks held by threads that do not
  // exist in it. Park threads in the parent (some of them mid-operation), then fork.
  int key = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> looping{0};  // busy threads past their first round
  std::vector<std::thread> busy;
  for (int i = 0; i < 4; ++i) {
    busy.emplace_back([&] {
      bool first = true;
      while (!stop.load()) {
        pl::park(
            &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, Clock::now() + 100us);
        pl::unpark_one(&key, token_of);
        if (std::exchange(first, false)) looping.fetch_add(1);
      }
    });
  }
  Parker parked(&key, 0, Clock::now() + 1min);
  parked.wait_parked();
  // Fork only once the busy threads are past their start-up, which allocates: clang 14's ASan
  // does not hold its allocator's locks across fork(), and a child forked while a parent thread
  // allocates hangs when it starts its own thread (docs/fork.md, "Sanitizers and fork"). Their
  // loops allocate nothing.
  ASSERT_TRUE(eventually([&] { return looping.load() == 4; }));
  for (int attempt = 0; attempt < 20; ++attempt) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(20);  // a child that hangs dies of SIGALRM, which the parent reports
      // Child: only this thread exists. Park with a deadline, then hand off between two threads.
      int child_key = 0;
      const auto r = pl::park(
          &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0, Clock::now() + 1ms);
      if (r.kind != Kind::TimedOut) _exit(10);
      std::atomic<bool> ready{false};
      pl::ParkResult got{Kind::Invalid, 0};
      std::thread t([&] {
        got = pl::park(
            &child_key, [] { return true; }, [&] { ready.store(true); }, [](const void*, bool) {},
            0, Clock::now() + 10s);
      });
      while (!ready.load()) std::this_thread::yield();
      while (pl::unpark_one(&child_key, [](pl::UnparkResult) {
               return pl::UnparkToken{5};
             }).unparked_threads == 0) {
        std::this_thread::yield();
      }
      t.join();
      _exit(got.kind == Kind::Unparked && got.token == 5 ? 0 : 11);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status))
        << "child did not exit normally (attempt " << attempt << ", signal "
        << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << "; 14: its alarm, it hung)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "attempt " << attempt;
  }
  stop.store(true);
  for (auto& t : busy) t.join();
  while (!parked.done.load()) pl::unpark_all(&key, 0);
}
#endif

}  // namespace
