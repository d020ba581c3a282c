// The macOS backend (platform/ulock_darwin.cpp) on Linux, against tests/darwin_shim: what it
// passes to __ulock_wait / __ulock_wait2 / __ulock_wake, how it reads their answers (including
// the ones a real kernel gives only after an hour), and real wake-ups through futex on both the
// __ulock_wait2 path and the legacy __ulock_wait path.
//
// Built twice: darwin_ulock_test links the shim with __ulock_wait2 (macOS 11+), and
// darwin_ulock_test_no_wait2 links one without it (macOS 10.12-10.15), where the backend must
// find its weak reference null on its own. EXITLEFT_TEST_SHIM_HAS_WAIT2 says which.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "platform/ulock_darwin_testing.hpp"
#include "platform/word_wait.hpp"
#include "tests/darwin_shim/ulock_shim.hpp"
#include "tests/support/wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Backend = exitleft::platform::DarwinUlock;
using exitleft::platform::Clock;
using exitleft::platform::Deadline;
using exitleft::platform::kNoDeadline;
using exitleft::platform::Word;
using exitleft::test::eventually;
using exitleft::test::kPatience;
namespace du = exitleft::platform::darwin_ulock;
namespace shim = exitleft::test::ulock_shim;

constexpr std::uint32_t kPrivateWait = shim::kCompareAndWait | shim::kNoErrno;
constexpr std::uint32_t kSharedWait = shim::kCompareAndWaitShared | shim::kNoErrno;

std::uint64_t ns_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<std::uint64_t>(std::chrono::nanoseconds(to - from).count());
}

// True when thread `tid` of process `pid` is asleep (state S): inside the shim, that means
// blocked in its futex call.
bool asleep(pid_t pid, pid_t tid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');  // the command name may contain spaces and parentheses
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'S';
}

pid_t current_tid() {
  return static_cast<pid_t>(syscall(SYS_gettid));
}

class DarwinUlock : public ::testing::Test {
 protected:
  void SetUp() override {
    shim::reset();
    du::force_legacy_for_testing(false);
  }
  void TearDown() override {
    du::force_legacy_for_testing(false);
    shim::reset();
  }
};

// ---- which call the backend makes ------------------------------------------------------------

#if EXITLEFT_TEST_SHIM_HAS_WAIT2
TEST_F(DarwinUlock, Wait2IsUsedWhenTheSystemHasIt) {
  ASSERT_TRUE(shim::provides_wait2());
  EXPECT_TRUE(du::has_wait2());
  EXPECT_TRUE(du::uses_wait2());
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min));
  EXPECT_EQ(shim::last_wait().call, shim::WaitCall::kWait2);
  EXPECT_EQ(shim::wait2_calls(), 1u);
  EXPECT_EQ(shim::legacy_wait_calls(), 0u);
}

TEST_F(DarwinUlock, ForcingLegacyUsesUlockWait) {
  du::force_legacy_for_testing(true);
  EXPECT_TRUE(du::has_wait2());
  EXPECT_FALSE(du::uses_wait2());
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min));
  EXPECT_EQ(shim::last_wait().call, shim::WaitCall::kWait);
  EXPECT_EQ(shim::legacy_wait_calls(), 1u);
  EXPECT_EQ(shim::wait2_calls(), 0u);
}
#else
TEST_F(DarwinUlock, MissingWait2FallsBackToUlockWait) {
  ASSERT_FALSE(shim::provides_wait2());
  EXPECT_FALSE(du::has_wait2());  // the weak reference resolved to null
  EXPECT_FALSE(du::uses_wait2());
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min));
  EXPECT_EQ(shim::last_wait().call, shim::WaitCall::kWait);
  EXPECT_EQ(shim::legacy_wait_calls(), 1u);
}
#endif

// ---- timeouts: conversion ---------------------------------------------------------------------

TEST_F(DarwinUlock, TimeoutRoundsUpToMicroseconds) {
  struct Case {
    std::uint64_t ns, us;
  };
  for (const Case c :
       {Case{1000, 1}, Case{1001, 2}, Case{1500, 2}, Case{1999, 2}, Case{2000, 2}, Case{2001, 3},
        Case{1'000'000'000, 1'000'000}, Case{1'000'000'001, 1'000'001}}) {
    const du::UlockTimeout t = du::legacy_timeout(c.ns);
    EXPECT_EQ(t.value, c.us) << c.ns << " ns";
    EXPECT_FALSE(t.capped) << c.ns << " ns";
  }
}

TEST_F(DarwinUlock, LegacyCapsLongTimeoutsAtU32Microseconds) {
  constexpr std::uint64_t kMaxNs = std::uint64_t{UINT32_MAX} * 1000;  // ~71.6 minutes
  EXPECT_EQ(du::legacy_timeout(kMaxNs).value, UINT32_MAX);
  EXPECT_FALSE(du::legacy_timeout(kMaxNs).capped);
  EXPECT_EQ(du::legacy_timeout(kMaxNs - 999).value, UINT32_MAX);  // rounds up onto the limit
  EXPECT_FALSE(du::legacy_timeout(kMaxNs - 999).capped);
  for (std::uint64_t ns : {kMaxNs + 1, kMaxNs + 1000, std::uint64_t{3} * 3600 * 1'000'000'000,
                           std::uint64_t{UINT64_MAX}}) {
    EXPECT_EQ(du::legacy_timeout(ns).value, UINT32_MAX) << ns << " ns";
    EXPECT_TRUE(du::legacy_timeout(ns).capped) << ns << " ns";
  }

  // Through the backend: a deadline three hours away becomes one capped __ulock_wait. The shim
  // answers ETIMEDOUT at once instead of after 71.6 minutes.
  du::force_legacy_for_testing(true);
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  Backend::wait(word, 0, Clock::now() + 3h);
  const shim::WaitRecord w = shim::last_wait();
  EXPECT_EQ(w.call, shim::WaitCall::kWait);
  EXPECT_EQ(w.timeout, UINT32_MAX);
}

TEST_F(DarwinUlock, Wait2CapsTimeoutsTheKernelCouldOverflow) {
  EXPECT_EQ(du::wait2_timeout(du::kWait2MaxTimeoutNs).value, du::kWait2MaxTimeoutNs);
  EXPECT_FALSE(du::wait2_timeout(du::kWait2MaxTimeoutNs).capped);
  EXPECT_EQ(du::wait2_timeout(du::kWait2MaxTimeoutNs + 1).value, du::kWait2MaxTimeoutNs);
  EXPECT_TRUE(du::wait2_timeout(du::kWait2MaxTimeoutNs + 1).capped);
  EXPECT_EQ(du::wait2_timeout(UINT64_MAX).value, du::kWait2MaxTimeoutNs);
  // Three times the cap still fits in a u64 (Apple silicon multiplies by 3).
  EXPECT_GE(UINT64_MAX / 3, du::kWait2MaxTimeoutNs);
}

TEST_F(DarwinUlock, SubMicrosecondRemainderNeverBecomesForever) {
  // 0 is "no timeout" to the kernel: the last sliver before a deadline must still be a timeout.
  for (std::uint64_t ns : {1, 2, 500, 999}) {
    EXPECT_EQ(du::legacy_timeout(ns).value, 1u) << ns << " ns";
    EXPECT_EQ(du::wait2_timeout(ns).value, ns) << ns << " ns";
  }

  // Through the backend: deadlines under a microsecond away. Whenever the backend still calls
  // __ulock_wait (the deadline had not passed when it read the clock), it must pass 1 µs. The
  // shim answers that call with ETIMEDOUT at once, so a wrong 0 shows as a failure, not a hang.
  du::force_legacy_for_testing(true);
  Word word{0};
  int reached_kernel = 0;
  for (int attempt = 0; attempt < 20000 && reached_kernel < 200; ++attempt) {
    shim::fail_next_waits(ETIMEDOUT, 1);
    const std::uint64_t before = shim::legacy_wait_calls();
    const Deadline deadline = Clock::now() + 900ns;
    if (!Backend::wait(word, 0, deadline)) {
      EXPECT_GE(Clock::now(), deadline);
    }
    if (shim::legacy_wait_calls() != before) {
      ++reached_kernel;
      ASSERT_EQ(shim::last_wait().timeout, 1u);
    }
  }
  EXPECT_GT(reached_kernel, 0) << "no wait reached __ulock_wait: cannot judge";
}

// ---- timeouts: what reaches the kernel -----------------------------------------------------

#if EXITLEFT_TEST_SHIM_HAS_WAIT2
TEST_F(DarwinUlock, Wait2PassesNanoseconds) {
  Word word{7};
  shim::fail_next_waits(ETIMEDOUT, 1);  // answer at once
  const auto t0 = Clock::now();
  const Deadline deadline = t0 + 250ms;
  Backend::wait(word, 7, deadline);
  const auto t1 = Clock::now();
  const shim::WaitRecord w = shim::last_wait();
  EXPECT_EQ(w.call, shim::WaitCall::kWait2);
  EXPECT_EQ(w.operation, kPrivateWait);
  EXPECT_EQ(w.addr, &word);
  EXPECT_EQ(w.value, 7u);
  EXPECT_EQ(w.value2, 0u);
  // The backend read the clock at some instant between t0 and t1.
  EXPECT_GE(w.timeout, ns_between(t1, deadline));
  EXPECT_LE(w.timeout, ns_between(t0, deadline));
}
#endif

TEST_F(DarwinUlock, LegacyPassesMicroseconds) {
  du::force_legacy_for_testing(true);
  Word word{7};
  shim::fail_next_waits(ETIMEDOUT, 1);
  const auto t0 = Clock::now();
  const Deadline deadline = t0 + 250ms;
  Backend::wait(word, 7, deadline);
  const auto t1 = Clock::now();
  const shim::WaitRecord w = shim::last_wait();
  EXPECT_EQ(w.call, shim::WaitCall::kWait);
  EXPECT_EQ(w.operation, kPrivateWait);
  EXPECT_EQ(w.addr, &word);
  EXPECT_EQ(w.value, 7u);
  // Rounded up: never less than what was left at the latest possible clock reading.
  EXPECT_GE(w.timeout * 1000, ns_between(t1, deadline));
  EXPECT_LE(w.timeout, (ns_between(t0, deadline) + 999) / 1000);
}

TEST_F(DarwinUlock, PastDeadlineNeverCallsTheKernel) {
  // A deadline that has passed must not reach the kernel as a timeout that rounds to 0.
  for (bool legacy : {false, true}) {
    du::force_legacy_for_testing(legacy);
    Word word{0};
    EXPECT_FALSE(Backend::wait(word, 0, Clock::now()));
    EXPECT_FALSE(Backend::wait(word, 0, Clock::now() - 1ms));
    EXPECT_FALSE(Backend::wait(word, 0, Clock::time_point{}));
    EXPECT_FALSE(Backend::wait(word, 0, Clock::time_point::min()));
    EXPECT_FALSE(Backend::wait_shared(word, 0, Clock::now() - 1ns));
  }
  EXPECT_EQ(shim::legacy_wait_calls() + shim::wait2_calls(), 0u);
}

TEST_F(DarwinUlock, CappedTimeoutIsASpuriousWakeNotATimeout) {
  // Legacy path, deadline hours away: each capped __ulock_wait that expires (played by the
  // shim answering ETIMEDOUT at once) is a spurious wake-up, and the next call re-arms it.
  du::force_legacy_for_testing(true);
  Word word{0};
  const Deadline deadline = Clock::now() + 3h;
  for (int i = 0; i < 3; ++i) {
    shim::fail_next_waits(ETIMEDOUT, 1);
    EXPECT_TRUE(Backend::wait(word, 0, deadline)) << "capped wait " << i;
    EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT);
    EXPECT_EQ(shim::last_wait().timeout, UINT32_MAX);
  }
  EXPECT_EQ(shim::legacy_wait_calls(), 3u);

#if EXITLEFT_TEST_SHIM_HAS_WAIT2
  // __ulock_wait2 is capped too, only two centuries out.
  du::force_legacy_for_testing(false);
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + std::chrono::hours(24 * 365 * 200)));
  EXPECT_EQ(shim::last_wait().call, shim::WaitCall::kWait2);
  EXPECT_EQ(shim::last_wait().timeout, du::kWait2MaxTimeoutNs);
#endif
}

// ---- wakes ---------------------------------------------------------------------------------

TEST_F(DarwinUlock, WakeOnePassesNoWakeFlag) {
  Word word{0};
  Backend::wake_one(&word);
  const shim::WakeRecord w = shim::last_wake();
  EXPECT_EQ(w.operation, shim::kCompareAndWait | shim::kNoErrno);
  EXPECT_EQ(w.addr, &word);
  EXPECT_EQ(w.wake_value, 0u);
  EXPECT_EQ(shim::wake_all_calls(), 0u);
}

TEST_F(DarwinUlock, WakeAllPassesWakeAllFlag) {
  Word word{0};
  Backend::wake_all(&word);
  const shim::WakeRecord w = shim::last_wake();
  EXPECT_EQ(w.operation, shim::kCompareAndWait | shim::kWakeAll | shim::kNoErrno);
  EXPECT_EQ(w.addr, &word);
  EXPECT_EQ(w.wake_value, 0u);
  EXPECT_EQ(shim::wake_all_calls(), 1u);
}

TEST_F(DarwinUlock, SharedVariantsUseTheSharedOpcode) {
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait_shared(word, 0, Clock::now() + 1min));
  EXPECT_EQ(shim::last_wait().operation, kSharedWait);
  Backend::wake_one_shared(&word);
  EXPECT_EQ(shim::last_wake().operation, shim::kCompareAndWaitShared | shim::kNoErrno);
  Backend::wake_all_shared(&word);
  EXPECT_EQ(shim::last_wake().operation,
            shim::kCompareAndWaitShared | shim::kWakeAll | shim::kNoErrno);
}

TEST_F(DarwinUlock, WakeWithoutWaitersIsHarmless) {
  Word word{0};
  Backend::wake_one(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  Backend::wake_all(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  Backend::wake_one_shared(&word);
  Backend::wake_all_shared(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  EXPECT_EQ(shim::wake_calls(), 4u);  // ENOENT is final: no retry
  EXPECT_FALSE(Backend::wait(word, 0, Clock::now()));
}

TEST_F(DarwinUlock, WakeOnUnmappedMemoryIsHarmless) {
  // The parking lot may wake a word whose owner has already freed it: wakes never read it.
  const long page = sysconf(_SC_PAGESIZE);
  void* mem = mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(munmap(mem, static_cast<std::size_t>(page)), 0);
  const auto* gone = static_cast<const Word*>(mem);
  Backend::wake_one(gone);
  Backend::wake_all(gone);
  Backend::wake_one_shared(gone);
  Backend::wake_all_shared(gone);
  EXPECT_EQ(shim::wake_calls(), 4u);
}

TEST_F(DarwinUlock, EveryCallAsksForNegativeErrnoResults) {
  Word word{0};
  errno = 12345;
  shim::fail_next_waits(EINTR, 1);
  Backend::wait(word, 0, Clock::now() + 1min);
  Backend::wait(word, 0, Clock::now() + 1ms);  // a real futex timeout
  Backend::wait_shared(word, 1, kNoDeadline);     // the word differs
  Backend::wake_one(&word);
  Backend::wake_all_shared(&word);
  EXPECT_EQ(shim::errno_style_calls(), 0u);
  EXPECT_EQ(errno, 12345);
}

// ---- answers a wait may get --------------------------------------------------------------

TEST_F(DarwinUlock, InterruptedOrFaultedWaitIsASpuriousWake) {
  for (bool legacy : {false, true}) {
    du::force_legacy_for_testing(legacy);
    Word word{0};
    for (int error : {EINTR, EFAULT}) {
      shim::fail_next_waits(error, 2);
      EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min)) << error;
      EXPECT_TRUE(Backend::wait(word, 0, kNoDeadline)) << error;
      EXPECT_EQ(shim::last_wait().result, -error);
    }
  }
}

TEST_F(DarwinUlock, EarlyKernelTimeoutBeforeTheDeadlineIsSpurious) {
  // An uncapped wait should only time out after the deadline; should the kernel's timer ever
  // say otherwise, the backend believes steady_clock, not the kernel.
  for (bool legacy : {false, true}) {
    du::force_legacy_for_testing(legacy);
    Word word{0};
    shim::fail_next_waits(ETIMEDOUT, 1);
    EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min));
    EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT);
  }
}

TEST_F(DarwinUlock, ForeverPassesNoTimeout) {
  for (bool legacy : {false, true}) {
    du::force_legacy_for_testing(legacy);
    Word word{0};
    shim::fail_next_waits(ETIMEDOUT, 1);  // return at once; a real kernel never would
    EXPECT_TRUE(Backend::wait(word, 0, kNoDeadline));
    EXPECT_EQ(shim::last_wait().timeout, 0u);
  }
}

// ---- real wake-ups through futex, on each path ------------------------------------------------

enum class Path { kWait2, kLegacy };

const char* path_name(Path path) {
  return path == Path::kWait2 ? "wait2" : "legacy";
}
void PrintTo(Path path, std::ostream* os) {
  *os << path_name(path);
}  // for gtest and ctest

class DarwinUlockWakeUps : public ::testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    shim::reset();
    // Without __ulock_wait2 the legacy path is the only one, and is reached without forcing.
    du::force_legacy_for_testing(GetParam() == Path::kLegacy && shim::provides_wait2());
    ASSERT_EQ(du::uses_wait2(), GetParam() == Path::kWait2);
  }
  void TearDown() override {
    du::force_legacy_for_testing(false);
    shim::reset();
  }

  // The calls were all of this path's kind.
  void expect_path_used() const {
    if (GetParam() == Path::kWait2) {
      EXPECT_GT(shim::wait2_calls(), 0u);
      EXPECT_EQ(shim::legacy_wait_calls(), 0u);
    } else {
      EXPECT_GT(shim::legacy_wait_calls(), 0u);
      EXPECT_EQ(shim::wait2_calls(), 0u);
    }
  }
};

// A thread that waits through the backend while `word` holds 0. Its deadline is far but finite,
// so a lost wake-up fails the test instead of hanging it.
class Waiter {
 public:
  Waiter(Word& word, bool shared) {
    thread_ = std::thread([this, &word, shared] {
      tid_.store(current_tid());
      const Deadline deadline = Clock::now() + kPatience;
      while (word.load() == 0) {
        calls_.fetch_add(1);
        const bool ok =
            shared ? Backend::wait_shared(word, 0, deadline) : Backend::wait(word, 0, deadline);
        if (!ok) {
          timed_out_.store(true);
          return;
        }
      }
    });
  }
  ~Waiter() { join(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  bool asleep_in_kernel() const { return tid_.load() != 0 && asleep(getpid(), tid_.load()); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool timed_out() const { return timed_out_.load(); }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> timed_out_{false};
  std::atomic<int> calls_{0};
  std::thread thread_;
};

// Waits until every waiter is blocked in the shim's futex call.
void await_blocked(const std::vector<std::unique_ptr<Waiter>>& waiters) {
  ASSERT_TRUE(eventually([&] {
    if (shim::threads_in_wait() != static_cast<int>(waiters.size())) return false;
    for (const auto& w : waiters) {
      if (!w->asleep_in_kernel()) return false;
    }
    return true;
  }));
}

TEST_P(DarwinUlockWakeUps, WakeOneWakesABlockedWaiter) {
  for (bool shared : {false, true}) {
    Word word{0};
    std::vector<std::unique_ptr<Waiter>> waiters;
    waiters.push_back(std::make_unique<Waiter>(word, shared));
    await_blocked(waiters);
    word.store(1);
    shared ? Backend::wake_one_shared(&word) : Backend::wake_one(&word);
    waiters[0]->join();
    EXPECT_FALSE(waiters[0]->timed_out()) << "shared=" << shared;
    EXPECT_EQ(waiters[0]->calls(), 1) << "the one blocking call ended with the wake";
    EXPECT_EQ(shim::last_wake().result, 0) << "the wake found a waiter";
  }
  expect_path_used();
}

TEST_P(DarwinUlockWakeUps, WakeAllWakesEveryBlockedWaiter) {
  for (bool shared : {false, true}) {
    Word word{0};
    std::vector<std::unique_ptr<Waiter>> waiters;
    for (int i = 0; i < 4; ++i) waiters.push_back(std::make_unique<Waiter>(word, shared));
    await_blocked(waiters);
    word.store(1);
    shared ? Backend::wake_all_shared(&word) : Backend::wake_all(&word);
    for (auto& w : waiters) {
      w->join();
      EXPECT_FALSE(w->timed_out()) << "shared=" << shared;
      EXPECT_EQ(w->calls(), 1);
    }
  }
  EXPECT_EQ(shim::wake_all_calls(), 2u);
  expect_path_used();
}

TEST_P(DarwinUlockWakeUps, WakeRetriesWhenInterrupted) {
  Word word{0};
  std::vector<std::unique_ptr<Waiter>> waiters;
  waiters.push_back(std::make_unique<Waiter>(word, false));
  await_blocked(waiters);
  word.store(1);
  shim::fail_next_wakes(EINTR, 1);
  Backend::wake_one(&word);
  EXPECT_EQ(shim::wake_calls(), 2u);  // the EINTR, then the wake that reached the waiter
  waiters[0]->join();
  EXPECT_FALSE(waiters[0]->timed_out());
  EXPECT_EQ(waiters[0]->calls(), 1);
}

TEST_P(DarwinUlockWakeUps, TimeoutEndsAtTheDeadlineNotBefore) {
  Word word{0};
  for (auto timeout : {1ms, 7ms, 20ms}) {
    const Deadline deadline = Clock::now() + timeout;
    while (Backend::wait(word, 0, deadline)) {
    }
    EXPECT_GE(Clock::now(), deadline);
    EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT) << "the kernel's timer ended the wait";
  }
  expect_path_used();
}

TEST_P(DarwinUlockWakeUps, PingPongLosesNoWakeUp) {
  Word word{0};
  constexpr std::uint32_t kRounds = 5000;
  std::atomic<bool> timed_out{false};
  const Deadline deadline = Clock::now() + kPatience;
  auto wait_for = [&](std::uint32_t want, std::uint32_t seen) {
    while (word.load() != want) {
      if (!Backend::wait(word, seen, deadline)) {
        timed_out.store(true);
        return false;
      }
    }
    return true;
  };
  std::thread other([&] {
    for (std::uint32_t i = 1; i < 2 * kRounds; i += 2) {
      if (!wait_for(i, i - 1)) return;
      word.store(i + 1);
      Backend::wake_one(&word);
    }
  });
  for (std::uint32_t i = 0; i < 2 * kRounds; i += 2) {
    word.store(i + 1);
    Backend::wake_one(&word);
    if (!wait_for(i + 2, i + 1)) break;
  }
  other.join();
  EXPECT_FALSE(timed_out.load());
  EXPECT_EQ(word.load(), 2 * kRounds);
}

TEST_P(DarwinUlockWakeUps, SharedWaitIsWokenFromAnotherProcess) {
  // UL_COMPARE_AND_WAIT_SHARED keys the wait by memory object, so a waiter in a child process
  // is woken through a mapping shared with its parent.
  void* mem =
      mmap(nullptr, sizeof(Word), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* word = new (mem) Word{0};
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    const Deadline deadline = Clock::now() + kPatience;
    while (word->load() == 0) {
      if (!Backend::wait_shared(*word, 0, deadline)) _exit(2);
    }
    _exit(0);
  }
  EXPECT_TRUE(eventually([&] { return asleep(child, child); }));
  word->store(1);
  Backend::wake_one_shared(word);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: the child's wait timed out";
  EXPECT_EQ(shim::last_wake().result, 0) << "the wake found the child waiting";
  munmap(mem, sizeof(Word));
}

#if EXITLEFT_TEST_SHIM_HAS_WAIT2
const auto kPaths = ::testing::Values(Path::kWait2, Path::kLegacy);
#else
const auto kPaths = ::testing::Values(Path::kLegacy);  // the only path without __ulock_wait2
#endif

std::string param_name(const ::testing::TestParamInfo<Path>& param) {
  return path_name(param.param);
}

INSTANTIATE_TEST_SUITE_P(Paths, DarwinUlockWakeUps, kPaths, param_name);

}  // namespace
