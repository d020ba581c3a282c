// CountdownEvent against SPEC "Semaphore and CountdownEvent", on every backend variant.
#include "exitleft/countdown_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "tests/support/lot_probe.hpp"
#include "tests/support/threads.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::CountdownEvent;
using exitleft::test::parked_on;
using exitleft::test::Threads;
using exitleft::test::until_parked;
using Clock = std::chrono::steady_clock;

TEST(CountdownEvent, SetWhileTheCountIsZero) {
  CountdownEvent zero(0);
  EXPECT_TRUE(zero.try_wait());
  EXPECT_TRUE(zero.wait_for(0ms));
  CountdownEvent two(2);
  EXPECT_FALSE(two.try_wait());
  EXPECT_FALSE(two.wait_for(1ms));
  EXPECT_EQ(two.count(), 2u);
}

TEST(CountdownEvent, DecrementReachingZeroReturnsTrueAndWakesEveryWaiter) {
  CountdownEvent e(3);
  std::atomic<int> released{0};
  Threads t;
  for (int i = 0; i < 4; ++i) {
    t.spawn([&] {
      e.wait();
      released.fetch_add(1);
    });
  }
  ASSERT_TRUE(until_parked(&e, 4));
  EXPECT_FALSE(e.decrement());
  EXPECT_FALSE(e.decrement());
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(released.load(), 0);
  EXPECT_TRUE(e.decrement());
  t.join();
  EXPECT_EQ(released.load(), 4);
  EXPECT_EQ(e.count(), 0u);
}

TEST(CountdownEvent, DecrementAtZeroThrowsAndChangesNothing) {
  CountdownEvent e(1);
  EXPECT_TRUE(e.decrement());
  EXPECT_THROW(e.decrement(), std::logic_error);
  EXPECT_EQ(e.count(), 0u);
  EXPECT_TRUE(e.try_wait());
}

TEST(CountdownEvent, IncrementFromZeroUnsets) {
  // rsevents-extra's CountdownEvent stayed set after an increment from 0.
  CountdownEvent e(0);
  e.increment();
  EXPECT_FALSE(e.try_wait());
  EXPECT_FALSE(e.wait_for(5ms));
  EXPECT_EQ(e.count(), 1u);
  e.increment(4);
  EXPECT_EQ(e.count(), 5u);
}

TEST(CountdownEvent, ResetFromZeroUnsetsAndResetZeroReleasesEveryWaiter) {
  // rsevents-extra: reset from 0 left the event set.
  CountdownEvent e(0);
  e.reset(2);
  EXPECT_FALSE(e.try_wait());
  EXPECT_EQ(e.count(), 2u);
  std::atomic<int> released{0};
  Threads t;
  for (int i = 0; i < 3; ++i) {
    t.spawn([&] { released.fetch_add(e.wait_for(exitleft::test::kPatience)); });
  }
  ASSERT_TRUE(until_parked(&e, 3));
  e.reset(5);  // still above zero: nobody wakes
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(released.load(), 0);
  e.reset(0);
  t.join();
  EXPECT_EQ(released.load(), 3);
  EXPECT_TRUE(e.try_wait());
}

TEST(CountdownEvent, WaitersOfAZeroCrossingWakeEvenIfTheCountRisesAgain) {
  CountdownEvent e(1);
  std::atomic<int> released{0};
  Threads t;
  for (int i = 0; i < 2; ++i) {
    t.spawn([&] { released.fetch_add(e.wait_for(exitleft::test::kPatience)); });
  }
  ASSERT_TRUE(until_parked(&e, 2));
  EXPECT_TRUE(e.decrement());
  e.increment();
  t.join();
  EXPECT_EQ(released.load(), 2);
  EXPECT_FALSE(e.wait_for(5ms)) << "a wait that starts after the rise waits for the next zero";
}

// A wait that returns publishes the work of every decrement, not only of the one that woke it:
// thread A writes `a` and decrements without waking anyone (the count stays above 0); thread B,
// not ordered after A (it only watches the count, relaxed), makes the last decrement and wakes
// the parked waiter, which then reads `a`. Under TSan a wait that synchronizes only with its
// waker (found by the Relacy model countdown.rounds) is a data race on `a`.
TEST(CountdownEvent, WaitAcquiresEveryDecrementNotOnlyTheWakersOne) {
  for (int round = 1; round <= 50; ++round) {
    CountdownEvent e(2);
    int a = 0;  // plain data, written by A only
    Threads t;
    t.spawn([&] {
      e.wait();
      EXPECT_EQ(a, round);
    });
    ASSERT_TRUE(until_parked(&e, 1));
    t.spawn([&] {
      a = round;
      EXPECT_FALSE(e.decrement());
    });
    t.spawn([&] {
      while (e.count() != 1) std::this_thread::yield();  // relaxed: no order with A
      EXPECT_TRUE(e.decrement());
    });
    t.join();
  }
}

TEST(CountdownEvent, OverflowThrows) {
  CountdownEvent e(CountdownEvent::kMaxCount);
  EXPECT_THROW(e.increment(), std::overflow_error);
  EXPECT_EQ(e.count(), CountdownEvent::kMaxCount);
  CountdownEvent f(0);
  EXPECT_THROW(f.increment(CountdownEvent::kMaxCount + std::size_t{1}), std::overflow_error);
}

TEST(CountdownEvent, ManyDecrementersOneZero) {
  constexpr int kThreads = 4, kEach = 5000;
  CountdownEvent e(kThreads * kEach);
  std::atomic<int> zeros{0};
  std::atomic<bool> waiter_done{false};
  Threads t;
  t.spawn([&] {
    e.wait();
    waiter_done.store(true);
  });
  for (int i = 0; i < kThreads; ++i) {
    t.spawn([&] {
      for (int k = 0; k < kEach; ++k) zeros.fetch_add(e.decrement());
    });
  }
  t.join();
  EXPECT_EQ(zeros.load(), 1) << "exactly one decrement reaches zero";
  EXPECT_TRUE(waiter_done.load());
}

TEST(CountdownEvent, TimeoutsFollowTheTimeRules) {
  CountdownEvent e(1);
  const auto start = Clock::now();
  EXPECT_FALSE(e.wait_for(20ms));
  EXPECT_GE(Clock::now() - start, 20ms);
  EXPECT_FALSE(e.wait_until(std::chrono::system_clock::now() - 1s));
  std::atomic<bool> got{false};
  Threads t;
  t.spawn([&] { got.store(e.wait_for(std::chrono::hours::max())); });
  ASSERT_TRUE(until_parked(&e, 1));
  e.decrement();
  t.join();
  EXPECT_TRUE(got.load());
}

}  // namespace
