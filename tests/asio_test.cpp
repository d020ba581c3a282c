// exitleft/asio.hpp with standalone asio: completion tokens, cancellation, executors.
#include "exitleft/asio.hpp"

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <variant>

#include "tests/support/lot_probe.hpp"
#include "tests/support/threads.hpp"
#include "tests/support/wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::AutoResetEvent;
using exitleft::CountdownEvent;
using exitleft::ManualResetEvent;
using exitleft::Semaphore;
using exitleft::test::eventually;
using exitleft::test::Threads;
using exitleft::test::until_parked;

TEST(Asio, UseAwaitableWaitsForASetFromAnotherThread) {
  asio::io_context io;
  AutoResetEvent e;
  Semaphore s(0);
  CountdownEvent c(1);
  int finished = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await exitleft::async_wait(e, asio::use_awaitable);
        co_await exitleft::async_acquire(s, asio::use_awaitable);
        co_await exitleft::async_wait(c, asio::use_awaitable);
        ++finished;
      },
      asio::detached);
  Threads t;
  t.spawn([&] {
    ASSERT_TRUE(until_parked(&e.raw(), 1));
    e.set();
    ASSERT_TRUE(until_parked(&s, 1));
    EXPECT_TRUE(s.release());
    ASSERT_TRUE(until_parked(&c, 1));
    EXPECT_TRUE(c.decrement());
  });
  io.run_for(exitleft::test::kPatience);
  t.join();
  EXPECT_EQ(finished, 1);
  EXPECT_FALSE(e.is_set());
  EXPECT_EQ(s.count(), 0u);
}

TEST(Asio, ACallbackRunsOnItsExecutorNeverInsideSet) {
  asio::io_context io;
  ManualResetEvent m;
  std::error_code got = asio::error::would_block;
  std::thread::id ran_on;
  exitleft::async_wait(m, asio::bind_executor(io, [&](std::error_code ec) {
                         got = ec;
                         ran_on = std::this_thread::get_id();
                       }));
  std::thread::id setter;
  Threads t;
  t.spawn([&] {
    setter = std::this_thread::get_id();
    ASSERT_TRUE(until_parked(&m.raw(), 1));
    m.set();
  });
  io.run_for(exitleft::test::kPatience);  // returns once the handler ran: no more work
  t.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_NE(ran_on, setter);
}

TEST(Asio, ATimeoutComposedWithAwaitableOperatorsCancelsTheWaitAndLosesNothing) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  AutoResetEvent e;
  std::size_t winner = 99;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 20ms);
        auto r = co_await (exitleft::async_wait(e, asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
        winner = r.index();
      },
      asio::detached);
  io.run_for(exitleft::test::kPatience);
  EXPECT_EQ(winner, 1u) << "the timer should win: nobody set the event";
  EXPECT_EQ(exitleft::test::parked_on(&e.raw()), 0u) << "the cancelled wait is still queued";
  e.set();
  EXPECT_TRUE(e.try_wait()) << "a set after the cancelled wait was lost";

  // And the other way round: the event wins, the timer is cancelled.
  io.restart();
  winner = 99;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, exitleft::test::kPatience);
        auto r = co_await (exitleft::async_wait(e, asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
        winner = r.index();
      },
      asio::detached);
  Threads t;
  t.spawn([&] {
    ASSERT_TRUE(until_parked(&e.raw(), 1));
    e.set();
  });
  io.run_for(exitleft::test::kPatience);
  t.join();
  EXPECT_EQ(winner, 0u);
  EXPECT_FALSE(e.is_set()) << "the signal was not consumed by the winning wait";
}

TEST(Asio, PerOperationCancellationYieldsOperationAborted) {
  asio::io_context io;
  Semaphore s(0);
  asio::cancellation_signal cancel;
  std::error_code got;
  bool ran = false;
  exitleft::async_acquire(s, asio::bind_cancellation_slot(
                                 cancel.slot(), asio::bind_executor(io, [&](std::error_code ec) {
                                   got = ec;
                                   ran = true;
                                 })));
  ASSERT_TRUE(until_parked(&s, 1));
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(exitleft::test::kPatience);
  EXPECT_TRUE(ran);
  EXPECT_EQ(got, asio::error::operation_aborted);
  EXPECT_TRUE(s.release());
  EXPECT_EQ(s.count(), 1u) << "the cancelled acquire took a unit";
}

TEST(Asio, ThreadsAndCoroutinesOnAThreadPoolShareOneEvent) {
  // A token passed around: whoever receives the auto-reset signal bumps a plain counter and sets
  // the event again. Threads block in wait(); coroutines on a pool co_await it.
  constexpr int kCoroutines = 8;
  constexpr int kThreads = 3;
  constexpr int kRounds = 200;
  AutoResetEvent token;
  long counter = 0;  // plain: only touched by the holder of the token
  std::atomic<int> done{0};
  asio::thread_pool pool(2);
  for (int i = 0; i < kCoroutines; ++i) {
    asio::co_spawn(
        pool,
        [&]() -> asio::awaitable<void> {
          for (int r = 0; r < kRounds; ++r) {
            co_await exitleft::async_wait(token, asio::use_awaitable);
            ++counter;
            token.set();
          }
          ++done;
        },
        asio::detached);
  }
  Threads t;
  for (int i = 0; i < kThreads; ++i) {
    t.spawn([&] {
      for (int r = 0; r < kRounds; ++r) {
        ASSERT_TRUE(token.wait_for(exitleft::test::kPatience));
        ++counter;
        token.set();
      }
      ++done;
    });
  }
  token.set();
  ASSERT_TRUE(eventually([&] { return done.load() == kCoroutines + kThreads; }));
  t.join();
  pool.join();
  EXPECT_TRUE(token.try_wait());  // the token, back where it started
  EXPECT_EQ(counter, long{kCoroutines + kThreads} * kRounds);
}

}  // namespace
