// The wait-on-address contract (platform/word_wait.hpp), as typed tests over every
// backend this machine can run. The list comes from the build (EXITLEFT_TEST_HAS_*).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "platform/word_wait.hpp"
#include "tests/support/wait_until.hpp"

#if EXITLEFT_TEST_HAS_LINUX
#include <time.h>
#endif

namespace {

using namespace std::chrono_literals;
using exitleft::platform::Clock;
using exitleft::platform::kNoDeadline;
using exitleft::platform::Word;

template <class Backend>
class PlatformTest : public ::testing::Test {};

using Backends = ::testing::Types<
#if EXITLEFT_TEST_HAS_LINUX
    exitleft::platform::LinuxFutex,
#endif
#if EXITLEFT_TEST_HAS_DARWIN
    exitleft::platform::DarwinUlock,
#endif
#if EXITLEFT_TEST_HAS_WINDOWS
    exitleft::platform::WindowsWaitOnAddress,
#endif
    exitleft::platform::Portable>;

class BackendNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if (std::is_same_v<T, exitleft::platform::Portable>) return "portable";
#if EXITLEFT_TEST_HAS_LINUX
    if (std::is_same_v<T, exitleft::platform::LinuxFutex>) return "linux";
#endif
#if EXITLEFT_TEST_HAS_DARWIN
    if (std::is_same_v<T, exitleft::platform::DarwinUlock>) return "darwin";
#endif
#if EXITLEFT_TEST_HAS_WINDOWS
    if (std::is_same_v<T, exitleft::platform::WindowsWaitOnAddress>) return "windows";
#endif
    return "unknown";
  }
};

TYPED_TEST_SUITE(PlatformTest, Backends, BackendNames);

TYPED_TEST(PlatformTest, ReturnsAtOnceWhenTheWordDiffers) {
  Word word{1};
  EXPECT_TRUE(TypeParam::wait(word, 0, kNoDeadline));
  EXPECT_TRUE(TypeParam::wait(word, 0, Clock::now() + 1h));
}

TYPED_TEST(PlatformTest, PastDeadlineReturnsFalse) {
  Word word{0};
  EXPECT_FALSE(TypeParam::wait(word, 0, Clock::now() - 1ms));
  EXPECT_FALSE(TypeParam::wait(word, 0, Clock::time_point{}));  // the clock's epoch
}

TYPED_TEST(PlatformTest, DeadlineIsNeverEarly) {
  Word word{0};
  for (auto timeout : {1ms, 15ms, 40ms}) {
    const auto deadline = Clock::now() + timeout;
    while (TypeParam::wait(word, 0, deadline)) {
      // spurious returns are allowed; the deadline is absolute, so looping does not drift
    }
    EXPECT_GE(Clock::now(), deadline);
  }
}

TYPED_TEST(PlatformTest, WakeOneWakesAWaiter) {
  Word word{0};
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    started.store(true);
    while (word.load() == 0) TypeParam::wait(word, 0, kNoDeadline);
  });
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);  // let it block (not needed for correctness)
  word.store(1);
  TypeParam::wake_one(&word);
  waiter.join();
}

TYPED_TEST(PlatformTest, WakeAllWakesEveryWaiter) {
  Word word{0};
  std::atomic<int> started{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.emplace_back([&] {
      started.fetch_add(1);
      while (word.load() == 0) TypeParam::wait(word, 0, Clock::now() + 1min);
    });
  }
  while (started.load() < 8) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);
  word.store(1);
  TypeParam::wake_all(&word);
  for (auto& t : waiters) t.join();
}

TYPED_TEST(PlatformTest, TimedWaiterWokenBeforeItsDeadline) {
  Word word{0};
  std::atomic<bool> timed_out{false};
  std::thread waiter([&] {
    const auto deadline = Clock::now() + 1min;
    while (word.load() == 0) {
      if (!TypeParam::wait(word, 0, deadline)) timed_out.store(true);
    }
  });
  std::this_thread::sleep_for(2ms);
  word.store(1);
  TypeParam::wake_one(&word);
  waiter.join();
  EXPECT_FALSE(timed_out.load());
}

TYPED_TEST(PlatformTest, WakeWithoutWaitersIsHarmless) {
  Word word{0};
  TypeParam::wake_one(&word);
  TypeParam::wake_all(&word);
  EXPECT_FALSE(TypeParam::wait(word, 0, Clock::now()));
}

TYPED_TEST(PlatformTest, PingPongManyRounds) {
  // Two threads hand a word back and forth: no wake-up may be lost.
  Word word{0};
  constexpr std::uint32_t kRounds = 20000;
  std::thread other([&] {
    for (std::uint32_t i = 1; i < 2 * kRounds; i += 2) {
      while (word.load() != i) TypeParam::wait(word, i - 1, kNoDeadline);
      word.store(i + 1);
      TypeParam::wake_one(&word);
    }
  });
  for (std::uint32_t i = 0; i < 2 * kRounds; i += 2) {
    word.store(i + 1);
    TypeParam::wake_one(&word);
    while (word.load() != i + 2) TypeParam::wait(word, i + 1, kNoDeadline);
  }
  other.join();
  EXPECT_EQ(word.load(), 2 * kRounds);
}

#if EXITLEFT_TEST_HAS_LINUX
TEST(LinuxFutex, SteadyClockIsClockMonotonic) {
  // futex_linux.cpp passes steady_clock time points to FUTEX_WAIT_BITSET as CLOCK_MONOTONIC.
  timespec ts{};
  const auto before = Clock::now();
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto after = Clock::now();
  const auto mono = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  EXPECT_LE(before.time_since_epoch(), mono);
  EXPECT_GE(after.time_since_epoch(), mono);
}

// wait_either (futex_waitv), which the parking lot's group wake-ups stand on.
TEST(LinuxFutex, WaitEitherIsAvailableOnThisKernel) {
  // The kernel here has futex_waitv (5.16+); without it the lot falls back to per-thread
  // wake-ups, and the tests below would not exercise what production uses.
  EXPECT_TRUE(exitleft::platform::LinuxFutex::has_wait_either());
}

TEST(LinuxFutex, WaitEitherReturnsAtOnceWhenEitherWordDiffers) {
  using F = exitleft::platform::LinuxFutex;
  if (!F::has_wait_either()) GTEST_SKIP() << "no futex_waitv";
  exitleft::platform::Word a{1}, b{7};
  EXPECT_TRUE(F::wait_either(a, 0, b, 7, kNoDeadline));
  EXPECT_TRUE(F::wait_either(a, 1, b, 8, kNoDeadline));
  EXPECT_FALSE(F::wait_either(a, 1, b, 7, Clock::now() - 1ms));
  const auto start = Clock::now();
  EXPECT_FALSE(F::wait_either(a, 1, b, 7, start + 20ms));
  EXPECT_GE(Clock::now(), start + 20ms);  // never early
}

TEST(LinuxFutex, WaitEitherWakesOnEitherWord) {
  using F = exitleft::platform::LinuxFutex;
  if (!F::has_wait_either()) GTEST_SKIP() << "no futex_waitv";
  for (const bool on_second : {false, true}) {
    exitleft::platform::Word a{1}, b{0};
    std::atomic<bool> returned{false};
    std::thread waiter([&] {
      // A spurious return is allowed: loop until the word we change moves.
      while (a.load() == 1 && b.load() == 0)
        F::wait_either(a, 1, b, 0, Clock::now() + exitleft::test::kPatience);
      returned.store(true);
    });
    std::this_thread::sleep_for(10ms);  // let it sleep (the test is correct either way)
    if (on_second) {
      b.store(1);
      F::wake_all(&b);
    } else {
      a.store(0);
      F::wake_one(&a);
    }
    waiter.join();
    EXPECT_TRUE(returned.load());
  }
}
#endif

}  // namespace
