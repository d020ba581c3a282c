// wait_any / wait_all against SPEC "Multi-object waits" (Win32 WaitForMultipleObjects), on every
// backend variant of the library.
#include "exitleft/wait.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "tests/support/alloc_counter.hpp"
#include "tests/support/lot_probe.hpp"
#include "tests/support/threads.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::AutoResetEvent;
using exitleft::CountdownEvent;
using exitleft::EventState;
using exitleft::ManualResetEvent;
using exitleft::Semaphore;
using exitleft::WaitableRef;
using exitleft::test::eventually;
using exitleft::test::kPatience;
using exitleft::test::Threads;
using Clock = std::chrono::steady_clock;

TEST(WaitAny, ReturnsTheLowestSignalledIndexAndConsumesOnlyThatObject) {
  AutoResetEvent a, b, c;
  b.set();
  c.set();
  EXPECT_EQ(exitleft::wait_any({a, b, c}), 1u);
  EXPECT_FALSE(b.is_set()) << "the chosen auto-reset event is consumed";
  EXPECT_TRUE(c.is_set()) << "the others are left alone";
  EXPECT_EQ(exitleft::wait_any({a, b, c}), 2u);
  EXPECT_FALSE(c.is_set());
}

TEST(WaitAny, MixedKindsFollowTheirOwnRules) {
  AutoResetEvent unset;
  ManualResetEvent manual(EventState::Set);
  Semaphore sem(2);
  CountdownEvent zero(0), two(2);
  EXPECT_EQ(exitleft::wait_any({unset, manual}), 1u);
  EXPECT_TRUE(manual.is_set()) << "a manual-reset event is observed, not consumed";
  EXPECT_EQ(exitleft::wait_any({unset, two, sem}), 2u);
  EXPECT_EQ(sem.count(), 1u) << "one semaphore unit is taken";
  EXPECT_EQ(exitleft::wait_any({unset, two, zero}), 2u);
  EXPECT_EQ(zero.count(), 0u) << "a countdown is observed";
}

TEST(WaitAny, AnObjectSignalledWhileTheWaiterSleepsWakesIt) {
  AutoResetEvent a;
  ManualResetEvent m;
  Semaphore s(0);
  CountdownEvent c(1);
  for (int which = 0; which < 4; ++which) {
    std::atomic<int> got{-1};
    Threads t;
    t.spawn([&] {
      const auto r = exitleft::wait_any_for(kPatience, {a, m, s, c});
      got.store(r ? static_cast<int>(*r) : -2);
    });
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(got.load(), -1) << "nothing is signalled yet";
    switch (which) {
      case 0:
        a.set();
        break;
      case 1:
        m.set();
        break;
      case 2:
        s.release();
        break;
      case 3:
        c.decrement();
        break;
    }
    t.join();
    EXPECT_EQ(got.load(), which);
    m.reset();
  }
  EXPECT_FALSE(a.is_set());
  EXPECT_EQ(s.count(), 0u);
}

TEST(WaitAny, TimeoutsFollowTheTimeRules) {
  AutoResetEvent a, b;
  auto start = Clock::now();
  EXPECT_FALSE(exitleft::wait_any_for(20ms, {a, b}));
  EXPECT_GE(Clock::now() - start, 20ms);
  EXPECT_FALSE(exitleft::wait_any_for(0ms, {a, b}));
  b.set();
  EXPECT_EQ(exitleft::wait_any_for(0ms, {a, b}), 1u) << "a zero timeout still takes a signal";
  start = Clock::now();
  EXPECT_FALSE(exitleft::wait_any_until(std::chrono::system_clock::now() + 15ms, {a, b}));
  EXPECT_GE(Clock::now() - start, 14ms);
  a.set();
  EXPECT_EQ(exitleft::wait_any_for(std::chrono::hours::max(), {a, b}), 0u);
}

TEST(WaitAll, ConsumesNothingUntilEveryObjectIsSignalled) {
  AutoResetEvent a, b;
  Semaphore s(1);
  a.set();
  EXPECT_FALSE(exitleft::wait_all_for(20ms, {a, b, s}));
  EXPECT_TRUE(a.is_set()) << "nothing is consumed by a wait-all that did not complete";
  EXPECT_EQ(s.count(), 1u);
  b.set();
  EXPECT_TRUE(exitleft::wait_all_for(0ms, {a, b, s}));
  EXPECT_FALSE(a.is_set());
  EXPECT_FALSE(b.is_set());
  EXPECT_EQ(s.count(), 0u);
}

TEST(WaitAll, WakesWhenTheLastObjectIsSignalled) {
  AutoResetEvent a;
  ManualResetEvent m;
  CountdownEvent c(2);
  std::atomic<bool> done{false};
  Threads t;
  t.spawn([&] {
    exitleft::wait_all({a, m, c});
    done.store(true);
  });
  a.set();
  c.decrement();
  m.set();
  std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(done.load()) << "the countdown is still at 1";
  EXPECT_TRUE(a.is_set()) << "a stays set while the wait-all cannot complete";
  c.decrement();
  t.join();
  EXPECT_TRUE(done.load());
  EXPECT_FALSE(a.is_set());
  EXPECT_TRUE(m.is_set());
}

TEST(WaitAll, IsAtomicAgainstSingleWaitersUnderStress) {
  // pevents consumes the objects of a wait-all one by one as they come; a wait-all that then
  // times out has eaten signals that single waiters needed. Here: units are exactly accounted.
  constexpr int kUnits = 20'000;
  Semaphore a(0), b(0);
  std::atomic<int> pairs{0}, stolen{0};
  std::atomic<bool> stop{false};
  Threads t;
  t.spawn([&] {  // the wait-all, with short timeouts
    while (!stop.load()) {
      if (exitleft::wait_all_for(std::chrono::microseconds(50), {a, b})) pairs.fetch_add(1);
    }
  });
  t.spawn([&] {  // a single waiter that competes for `a` only
    while (!stop.load()) {
      if (a.try_acquire_for(std::chrono::microseconds(50))) stolen.fetch_add(1);
    }
  });
  for (int i = 0; i < kUnits; ++i) {
    while (!a.release()) std::this_thread::yield();
    if (i % 2 == 0) {
      while (!b.release()) std::this_thread::yield();
    }
    if (i % 8 == 0) std::this_thread::sleep_for(20us);  // let the waiters fall asleep
  }
  ASSERT_TRUE(eventually([&] { return a.count() == 0; }));
  stop.store(true);
  t.join();
  const int b_released = (kUnits + 1) / 2;
  EXPECT_EQ(pairs.load() + stolen.load(), kUnits) << "every unit of `a` was taken exactly once";
  EXPECT_EQ(static_cast<int>(b.count()) + pairs.load(), b_released)
      << "`b` units were only ever taken together with an `a` unit";
}

TEST(Wait, ArgumentRulesThrowInvalidArgument) {
  std::vector<WaitableRef> none;
  EXPECT_THROW(exitleft::wait_any(std::span<const WaitableRef>(none)), std::invalid_argument);
  EXPECT_THROW(exitleft::wait_all(std::span<const WaitableRef>(none)), std::invalid_argument);
  std::vector<std::unique_ptr<AutoResetEvent>> events;
  std::vector<WaitableRef> many;
  for (int i = 0; i < 65; ++i) {
    events.push_back(std::make_unique<AutoResetEvent>(EventState::Set));
    many.emplace_back(*events.back());
  }
  EXPECT_THROW(exitleft::wait_any(std::span<const WaitableRef>(many)), std::invalid_argument);
  EXPECT_THROW(exitleft::wait_all_for(1ms, std::span<const WaitableRef>(many)),
               std::invalid_argument);
  many.pop_back();  // 64 is allowed
  EXPECT_EQ(exitleft::wait_any(std::span<const WaitableRef>(many)), 0u);
  EXPECT_FALSE(exitleft::wait_all_for(1ms, std::span<const WaitableRef>(many)))
      << "the first was consumed by the wait-any";
  events[0]->set();
  EXPECT_TRUE(exitleft::wait_all_for(1ms, std::span<const WaitableRef>(many)));
  AutoResetEvent e(EventState::Set);
  EXPECT_THROW(exitleft::wait_all({e, e}), std::invalid_argument);
  EXPECT_EQ(exitleft::wait_any({e, e}), 0u) << "a duplicate in a wait-any is allowed";
}

TEST(Wait, SingleAndMultiWaitersOfOneObjectAreServedFifo) {
  AutoResetEvent e, other;
  std::vector<int> order;
  AutoResetEvent turn;
  Threads t;
  auto finish = [&](int who) {
    order.push_back(who);
    turn.set();
  };
  t.spawn([&] {
    e.wait();
    finish(0);
  });
  ASSERT_TRUE(exitleft::test::until_parked(&e.raw(), 1));
  std::atomic<bool> multi_started{false};
  t.spawn([&] {
    multi_started.store(true);
    EXPECT_EQ(exitleft::wait_any({other, e}), 1u);
    finish(1);
  });
  ASSERT_TRUE(eventually([&] { return multi_started.load(); }));
  std::this_thread::sleep_for(20ms);  // let it register (it parks on its own record)
  t.spawn([&] {
    e.wait();
    finish(2);
  });
  ASSERT_TRUE(exitleft::test::until_parked(&e.raw(), 2));
  for (int i = 0; i < 3; ++i) {
    e.set();
    ASSERT_TRUE(turn.wait_for(kPatience));
  }
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(Wait, AWaitAllFirstInLineIsNotStarvedBySingleWaiters) {
  AutoResetEvent e, f;
  std::atomic<bool> all_done{false};
  std::atomic<int> singles{0};
  std::atomic<bool> stop{false};
  Threads t;
  t.spawn([&] { all_done.store(exitleft::wait_all_for(kPatience, {e, f})); });
  std::this_thread::sleep_for(20ms);  // the wait-all registers first
  t.spawn([&] {
    while (!stop.load()) {
      if (e.wait_for(1ms)) singles.fetch_add(1);
    }
  });
  std::this_thread::sleep_for(5ms);
  f.set();
  e.set();  // the wait-all is first in line on `e` and can complete: it gets both
  ASSERT_TRUE(eventually([&] { return all_done.load(); }));
  stop.store(true);
  t.join();
  EXPECT_EQ(singles.load(), 0);
}

TEST(Wait, MultiWaitersSeeSemaphoreUnitsInFifoOrder) {
  Semaphore s(0);
  AutoResetEvent never;
  constexpr int kWaiters = 4;
  std::vector<int> order;
  AutoResetEvent turn;
  Threads t;
  for (int i = 0; i < kWaiters; ++i) {
    std::atomic<bool> started{false};
    t.spawn([&, i] {
      started.store(true);
      EXPECT_EQ(exitleft::wait_any({never, s}), 1u);
      order.push_back(i);
      turn.set();
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    std::this_thread::sleep_for(10ms);
  }
  for (int i = 0; i < kWaiters; ++i) {
    ASSERT_TRUE(s.release());
    ASSERT_TRUE(turn.wait_for(kPatience));
  }
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Wait, MixedStressAccountsForEveryUnit) {
  // Producers release units into three semaphores; consumers take them with single waits,
  // wait_any and wait_all over mixed sets that include a manual-reset "stop" event and a
  // countdown. Every unit released must be taken exactly once.
  constexpr int kSems = 3, kProducerUnits = 15'000;
  std::array<Semaphore, kSems> sems{Semaphore(0), Semaphore(0), Semaphore(0)};
  ManualResetEvent stop;
  CountdownEvent never_zero(1);
  std::array<std::atomic<long>, kSems> taken{};
  std::array<std::atomic<long>, kSems> released{};
  Threads t;
  auto take = [&](std::size_t i) { taken[i].fetch_add(1); };
  t.spawn([&] {  // single waits
    std::minstd_rand rng(1);
    while (!stop.is_set()) {
      const std::size_t i = rng() % kSems;
      if (sems[i].try_acquire_for(std::chrono::microseconds(100))) take(i);
    }
  });
  t.spawn([&] {  // wait_any including the stop event and a countdown that never reaches 0
    for (;;) {
      const auto r = exitleft::wait_any_for(10ms, {never_zero, sems[2], sems[0], stop, sems[1]});
      if (!r) continue;
      if (*r == 3) break;
      ASSERT_NE(*r, 0u);
      take(*r == 1 ? 2 : *r == 2 ? 0 : 1);
    }
  });
  t.spawn([&] {  // wait_all over two semaphores
    while (!stop.is_set()) {
      if (exitleft::wait_all_for(std::chrono::microseconds(200), {sems[0], sems[1]})) {
        take(0);
        take(1);
      }
    }
  });
  t.spawn([&] {  // producer
    std::minstd_rand rng(2);
    for (int k = 0; k < kProducerUnits; ++k) {
      const std::size_t i = rng() % kSems;
      while (!sems[i].release()) std::this_thread::yield();
      released[i].fetch_add(1);
      if (k % 8 == 0) std::this_thread::sleep_for(20us);  // let the consumers fall asleep
    }
  });
  ASSERT_TRUE(eventually(
      [&] {
        long total = 0;
        for (auto& r : released) total += r.load();
        if (total != kProducerUnits) return false;
        for (auto& s : sems) {
          if (s.count() != 0) return false;
        }
        return true;
      },
      60s));
  stop.set();
  t.join();
  for (int i = 0; i < kSems; ++i) {
    EXPECT_EQ(taken[i].load(), released[i].load()) << "semaphore " << i;
  }
}

TEST(Wait, MultiWaitsAllocateNothing) {
  AutoResetEvent a, b;
  Semaphore s(0);
  const auto round = [&] {
    b.set();  // not the first object: wait_any goes through the engine, not its lock-free pre-pass
    EXPECT_EQ(exitleft::wait_any({a, b, s}), 1u);
    a.set();
    b.set();
    EXPECT_TRUE(exitleft::wait_all_for(0ms, {a, b}));
    EXPECT_FALSE(exitleft::wait_any_for(0ms, {a, b, s}));
  };
  round();  // warm up: whatever a thread's first multi-wait sets up
  exitleft::test::AllocationCounter allocations;
  for (int i = 0; i < 200; ++i) round();
  EXPECT_EQ(allocations.count(), 0u);
}

TEST(Wait, ObjectsWorkNormallyAfterAMultiWaitEnded) {
  // The MULTI bit is cleared when the last multi-waiter leaves: single-object operations behave
  // exactly as before (and take their fast paths again).
  AutoResetEvent a, b;
  Semaphore s(0);
  CountdownEvent c(1);
  EXPECT_FALSE(exitleft::wait_any_for(1ms, {a, b, s, c}));
  a.set();
  EXPECT_TRUE(a.try_wait());
  EXPECT_FALSE(a.try_wait());
  EXPECT_TRUE(s.release(2));
  EXPECT_TRUE(s.try_acquire());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_TRUE(c.decrement());
  EXPECT_TRUE(c.try_wait());
  c.increment();
  EXPECT_FALSE(c.try_wait());
}

}  // namespace
