// E6: uncontended set / try_wait (and the semaphore's and countdown's fast paths) are a single
// atomic operation that never calls into the parking lot (and so never makes a system call).
// The state machines are instantiated here with a policy that counts every call into the lot.
#include <gtest/gtest.h>

#include <atomic>
#include <utility>

#include "exitleft/detail/std_sync.hpp"
#include "src/primitives/countdown_event_impl.hpp"
#include "src/lot/lot_mutex_impl.hpp"
#include "src/multi_wait/engine_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"

namespace {

struct CountingSync : exitleft::detail::StdSync {
  static inline std::atomic<int> lot_calls{0};

  template <class... Args>
  static auto park(Args&&... args) noexcept {
    lot_calls.fetch_add(1);
    return StdSync::park(std::forward<Args>(args)...);
  }
  template <class... Args>
  static auto unpark_one(Args&&... args) noexcept {
    lot_calls.fetch_add(1);
    return StdSync::unpark_one(std::forward<Args>(args)...);
  }
  template <class... Args>
  static auto unpark_all(Args&&... args) noexcept {
    lot_calls.fetch_add(1);
    return StdSync::unpark_all(std::forward<Args>(args)...);
  }
  template <class... Args>
  static auto unpark_filter(Args&&... args) noexcept {
    lot_calls.fetch_add(1);
    return StdSync::unpark_filter(std::forward<Args>(args)...);
  }
};

}  // namespace

// The multi-object wait engine these instantiations refer to (unused here: nothing multi-waits).
template <>
exitleft::detail::MultiWaitEngine<CountingSync>&
exitleft::detail::multi_engine<CountingSync>() noexcept {
  static MultiWaitEngine<CountingSync> engine;
  return engine;
}

namespace {

using Event = exitleft::detail::BasicRawEvent<CountingSync>;
using Sem = exitleft::detail::BasicSemaphore<CountingSync>;
using Countdown = exitleft::detail::BasicCountdownEvent<CountingSync>;

class FastPath : public ::testing::Test {
 protected:
  void SetUp() override { CountingSync::lot_calls.store(0); }
  int lot_calls() const { return CountingSync::lot_calls.load(); }
};

TEST_F(FastPath, UncontendedEventOperationsNeverCallTheLot) {
  Event e;
  for (int i = 0; i < 1000; ++i) {
    e.set_one();
    EXPECT_TRUE(e.try_wait_one());
    EXPECT_FALSE(e.try_wait_one());
    e.set_all();
    EXPECT_TRUE(e.is_set());
    e.set_one();  // already set: saturates without the lot
    e.reset();
    e.pulse_one();
    e.pulse_all();
    EXPECT_FALSE(e.wait_one_for(std::chrono::milliseconds(0)));
  }
  EXPECT_EQ(lot_calls(), 0);
}

TEST_F(FastPath, SetWithAParkedWaiterGoesToTheLot) {
  // The counterpart: the slow path is taken exactly when someone is parked.
  Event e;
  std::thread waiter([&] { e.wait_one(); });
  while (lot_calls() == 0) std::this_thread::yield();  // the waiter called park()
  const int before = lot_calls();
  e.set_one();
  waiter.join();
  EXPECT_GE(lot_calls(), before + 1);
}

TEST_F(FastPath, UncontendedSemaphoreAndCountdownNeverCallTheLot) {
  Sem s(0);
  Countdown c(0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(s.release(2));
    EXPECT_TRUE(s.try_acquire());
    EXPECT_TRUE(s.try_acquire_for(std::chrono::milliseconds(0)));
    EXPECT_FALSE(s.try_acquire());
    c.increment(2);
    EXPECT_FALSE(c.try_wait());
    EXPECT_FALSE(c.decrement());
    EXPECT_TRUE(c.decrement());
    EXPECT_TRUE(c.try_wait());
    c.reset(1);
    c.reset(0);
  }
  EXPECT_EQ(lot_calls(), 0);
}

}  // namespace
