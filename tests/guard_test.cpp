// Every primitive, through every path that waits on it, guards a plain variable under contention.
//
// Counting signals proves no ordering: a unit granted twice, or granted without the acquire that
// pairs with the release that added it, can still add up when the books are balanced at the end.
// These tests protect plain (non-atomic) data the way users do, so a double grant loses
// increments and a missing happens-before edge is a data race that ThreadSanitizer reports (the
// tsan preset runs them). They come from the Linux ntsync selftests' stress_wait case, which
// found that wait_any({Semaphore(1, 1)}) let two threads into the section it guards: the
// engine's single_try() consumed a unit after the last multi-waiter had gone, while a lock-free
// path took the same unit (see MultiWaitEngine::routed()).
//
// - A lock: Semaphore(1, 1) and an AutoResetEvent created set. Each thread takes it through its
//   path, increments a plain counter, gives it back; the counter must be exact.
// - A publication: CountdownEvent and ManualResetEvent. A coordinator writes a plain value and
//   opens the object; readers wait through their path and must read that value; they
//   acknowledge through a second CountdownEvent before the coordinator writes again.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "exitleft/wait.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/threads.hpp"
#include "tests/support/watchdog.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::AutoResetEvent;
using exitleft::CountdownEvent;
using exitleft::EventState;
using exitleft::ManualResetEvent;
using exitleft::Semaphore;
using exitleft::test::kPatience;
using exitleft::test::Threads;

// How a thread waits for the object.
enum class Path {
  Single,         // the object's own wait / acquire, untimed
  SingleTimed,    // its _for form
  AnyFirst,       // wait_any_for({object}): the lock-free pre-pass on index 0
  AnySecond,      // wait_any_for({never signalled, object}): always registers
  All,            // wait_all_for({object})
  AllWithOthers,  // wait_all_for({object, always signalled}): an atomic wait over two
  Mixed,          // each thread and round takes one of the above
};
constexpr std::array kPaths = {Path::Single, Path::SingleTimed,   Path::AnyFirst, Path::AnySecond,
                               Path::All,    Path::AllWithOthers, Path::Mixed};

std::string path_name(const ::testing::TestParamInfo<Path>& info) {
  switch (info.param) {
    case Path::Single:
      return "Single";
    case Path::SingleTimed:
      return "SingleTimed";
    case Path::AnyFirst:
      return "WaitAnyFirst";
    case Path::AnySecond:
      return "WaitAnySecond";
    case Path::All:
      return "WaitAll";
    case Path::AllWithOthers:
      return "WaitAllWithOthers";
    case Path::Mixed:
      return "Mixed";
  }
  return "Unknown";
}

// Sanitizers slow every operation down ten times or more; the races still show in fewer rounds.
constexpr int kRounds = exitleft::test::kSanitized ? 2'000 : 10'000;
constexpr int kThreads = 4;

// The path thread `thread` takes in `round`.
Path pick(Path p, int thread, int round) {
  if (p != Path::Mixed) return p;
  return kPaths[static_cast<std::size_t>(thread + round) % (kPaths.size() - 1)];
}

// Waits for `object` along `path`; true once it is taken (or observed).
template <class Object, class Single, class SingleTimed>
bool wait_along(Path path, Object& object, Single&& single, SingleTimed&& timed) {
  AutoResetEvent never;
  ManualResetEvent always(EventState::Set);
  switch (path) {
    case Path::Single:
      single();
      return true;
    case Path::SingleTimed:
      return timed();
    case Path::AnyFirst:
      return exitleft::wait_any_for(kPatience, {object}) == std::optional<std::size_t>(0);
    case Path::AnySecond:
      return exitleft::wait_any_for(kPatience, {never, object}) == std::optional<std::size_t>(1);
    case Path::All:
      return exitleft::wait_all_for(kPatience, {object});
    case Path::AllWithOthers:
      return exitleft::wait_all_for(kPatience, {object, always});
    case Path::Mixed:
      break;
  }
  return false;
}

// ---- locks -----------------------------------------------------------------------------------

// kThreads threads each take `take(path)` and give `give()` kRounds times around a plain counter.
template <class Take, class Give>
void run_lock(Path path, Take&& take, Give&& give) {
  unsigned counter = 0;  // plain: guarded by the lock alone
  std::atomic<int> timeouts{0}, refused{0};
  {
    Threads threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.spawn([&, t] {
        for (int round = 0; round < kRounds; ++round) {
          if (!take(pick(path, t, round))) {
            timeouts.fetch_add(1);
            return;
          }
          ++counter;
          if (!give()) refused.fetch_add(1);
        }
      });
    }
  }
  ASSERT_EQ(timeouts.load(), 0) << "a wait timed out after " << kPatience.count() << " s";
  EXPECT_EQ(refused.load(), 0) << "a unit was granted twice: releasing it found the count full";
  EXPECT_EQ(counter, static_cast<unsigned>(kThreads * kRounds))
      << "two threads were inside the section at once, or one did not see the other's write";
}

class GuardSemaphore : public ::testing::TestWithParam<Path> {};

TEST_P(GuardSemaphore, OneUnitIsALockOnEveryPath) {
  Semaphore lock(1, 1);
  run_lock(
      GetParam(),
      [&](Path p) {
        return wait_along(
            p, lock, [&] { lock.acquire(); }, [&] { return lock.try_acquire_for(kPatience); });
      },
      [&] { return lock.release(); });
  EXPECT_EQ(lock.count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Paths, GuardSemaphore, ::testing::ValuesIn(kPaths), path_name);

class GuardAutoResetEvent : public ::testing::TestWithParam<Path> {};

TEST_P(GuardAutoResetEvent, ASetEventIsALockOnEveryPath) {
  AutoResetEvent lock(EventState::Set);
  run_lock(
      GetParam(),
      [&](Path p) {
        return wait_along(
            p, lock, [&] { lock.wait(); }, [&] { return lock.wait_for(kPatience); });
      },
      [&] {
        lock.set();
        return true;
      });
  EXPECT_TRUE(lock.is_set());
}

INSTANTIATE_TEST_SUITE_P(Paths, GuardAutoResetEvent, ::testing::ValuesIn(kPaths), path_name);

// ---- publications ----------------------------------------------------------------------------

// Rounds over two gates used alternately, so that a gate is closed again (by the coordinator,
// once every reader acknowledged the round that opened it) before any reader waits on it next.
template <class Gate, class Open, class Close, class Wait>
void run_publication(Path path, Gate (&gate)[2], Open&& open, Close&& close, Wait&& wait) {
  constexpr int kReaders = kThreads - 1;
  constexpr int kPublications = kRounds / 4;
  std::uint64_t data = 0;  // plain: written before a gate opens, read once it is seen open
  CountdownEvent acks(0);
  std::atomic<int> timeouts{0}, stale{0};
  {
    Threads threads;
    for (int t = 0; t < kReaders; ++t) {
      threads.spawn([&, t] {
        for (int round = 1; round <= kPublications; ++round) {
          if (!wait(pick(path, t, round), gate[round % 2])) {
            timeouts.fetch_add(1);
            return;
          }
          if (data != static_cast<std::uint64_t>(round)) stale.fetch_add(1);
          acks.decrement();
        }
      });
    }
    for (int round = 1; round <= kPublications && timeouts.load() == 0; ++round) {
      data = static_cast<std::uint64_t>(round);
      acks.reset(kReaders);
      open(gate[round % 2]);
      if (!acks.wait_for(kPatience)) {
        timeouts.fetch_add(1);
        break;
      }
      close(gate[round % 2]);
    }
  }
  ASSERT_EQ(timeouts.load(), 0) << "a wait timed out after " << kPatience.count() << " s";
  EXPECT_EQ(stale.load(), 0) << "a reader saw the gate open but not the value written before";
}

class GuardCountdownEvent : public ::testing::TestWithParam<Path> {};

TEST_P(GuardCountdownEvent, ReachingZeroPublishesOnEveryPath) {
  CountdownEvent gate[2] = {CountdownEvent(1), CountdownEvent(1)};
  run_publication(
      GetParam(), gate, [](CountdownEvent& g) { EXPECT_TRUE(g.decrement()); },
      [](CountdownEvent& g) { g.reset(1); },
      [](Path p, CountdownEvent& g) {
        return wait_along(
            p, g, [&] { g.wait(); }, [&] { return g.wait_for(kPatience); });
      });
}

INSTANTIATE_TEST_SUITE_P(Paths, GuardCountdownEvent, ::testing::ValuesIn(kPaths), path_name);

class GuardManualResetEvent : public ::testing::TestWithParam<Path> {};

TEST_P(GuardManualResetEvent, SetPublishesOnEveryPath) {
  ManualResetEvent gate[2];
  run_publication(
      GetParam(), gate, [](ManualResetEvent& g) { g.set(); },
      [](ManualResetEvent& g) { g.reset(); },
      [](Path p, ManualResetEvent& g) {
        return wait_along(
            p, g, [&] { g.wait(); }, [&] { return g.wait_for(kPatience); });
      });
}

INSTANTIATE_TEST_SUITE_P(Paths, GuardManualResetEvent, ::testing::ValuesIn(kPaths), path_name);

}  // namespace
