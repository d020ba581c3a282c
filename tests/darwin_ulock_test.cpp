// The macOS backend (platform/ulock_darwin.cpp) on Linux, against tests/darwin_shim: which call
// it chooses, what it passes to os_sync_* / __ulock_*, how it reads their answers (including the
// ones a real kernel gives only after an hour), and real wake-ups through futex on every path.
//
// Compiled once and linked five times (tests/CMakeLists.txt): the backend allowing the private
// fallback or public API only, each against shims with or without the optional calls (os_sync_*,
// macOS 14.4+; __ulock_wait2, macOS 11+), where the backend must find its weak references null
// on its own. Each program asks the backend and the shim what they hold, checks the choice, and
// runs the per-call tests on every path it can take (forced with force_path_for_testing).
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

namespace exitleft::platform::darwin_ulock {
void PrintTo(Path path, std::ostream* os) {
  *os << path_name(path);
}  // for gtest's messages
}  // namespace exitleft::platform::darwin_ulock

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
using Path = du::Path;

constexpr std::uint32_t kPrivateWait = shim::kCompareAndWait | shim::kNoErrno;
constexpr std::uint32_t kSharedWait = shim::kCompareAndWaitShared | shim::kNoErrno;

std::uint64_t ns_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<std::uint64_t>(std::chrono::nanoseconds(to - from).count());
}

// Every path this process can take: what force_path_for_testing must accept.
std::vector<Path> available_paths() {
  std::vector<Path> paths;
  if (shim::provides_os_sync()) paths.push_back(Path::kOsSync);
  if (du::private_calls_allowed()) {
    if (shim::provides_wait2()) paths.push_back(Path::kWait2);
    paths.push_back(Path::kLegacy);
  } else {
    paths.push_back(Path::kPortable);
  }
  return paths;
}

// The paths that call the (shim's) kernel: all but the portable buckets.
std::vector<Path> kernel_paths() {
  std::vector<Path> paths;
  for (Path p : available_paths()) {
    if (p != Path::kPortable) paths.push_back(p);
  }
  return paths;
}

// What the backend must choose, from what the shim provides and what the build allows.
Path expected_choice() {
  if (shim::provides_os_sync()) return Path::kOsSync;
  if (!du::private_calls_allowed()) return Path::kPortable;
  return shim::provides_wait2() ? Path::kWait2 : Path::kLegacy;
}

std::string param_name(const ::testing::TestParamInfo<Path>& param) {
  return du::path_name(param.param);
}

// One of each operation, each returning at once: three waits with a deadline (on a kernel path
// the shim answers them with ETIMEDOUT at once; the portable buckets wait out 1 ms), two without
// (the word differs), four wakes.
void exercise_every_operation() {
  const auto timeout = du::active_path() == Path::kPortable ? 1ms : 1min;
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 3);
  Backend::wait(word, 0, Clock::now() + timeout);
  Backend::wait_shared(word, 0, Clock::now() + timeout);
  Backend::wait(word, 0, Clock::now() + timeout);
  Backend::wait(word, 1, kNoDeadline);
  Backend::wait_shared(word, 1, kNoDeadline);
  shim::fail_next_waits(0, 0);
  Backend::wake_one(&word);
  Backend::wake_all(&word);
  Backend::wake_one_shared(&word);
  Backend::wake_all_shared(&word);
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

  bool asleep_now() const { return tid_.load() != 0 && asleep(getpid(), tid_.load()); }
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

// Waits until every waiter sleeps: in the shim's futex call on a kernel path (counted there), in
// the bucket's condition variable on the portable one.
void await_blocked(const std::vector<std::unique_ptr<Waiter>>& waiters, bool in_shim) {
  ASSERT_TRUE(eventually([&] {
    if (in_shim && shim::threads_in_wait() != static_cast<int>(waiters.size())) return false;
    for (const auto& w : waiters) {
      if (!w->asleep_now()) return false;
    }
    return true;
  }));
}

// ---- which path the backend takes ------------------------------------------------------------

class DarwinChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    shim::reset();
    du::stop_forcing_path_for_testing();
  }
  void TearDown() override {
    du::stop_forcing_path_for_testing();
    shim::reset();
  }
};

TEST_F(DarwinChoice, TheBestCallTheSystemHasIsChosen) {
  EXPECT_EQ(du::has_os_sync(), shim::provides_os_sync());
  EXPECT_EQ(du::has_wait2(), du::private_calls_allowed() && shim::provides_wait2());
  EXPECT_EQ(du::chosen_path(), expected_choice());
  EXPECT_EQ(du::active_path(), du::chosen_path());
}

TEST_F(DarwinChoice, ChoiceIsMadeOnceWhenTheLibraryLoads) {
  // Before this test's first call into the backend: made while the program loaded.
  ASSERT_EQ(du::times_chosen(), 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 50; ++i) {
        Word word{0};
        Backend::wait(word, 1, kNoDeadline);  // the word differs: returns at once
        Backend::wake_one(&word);
        Backend::wake_all_shared(&word);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(du::times_chosen(), 1);
  EXPECT_EQ(du::chosen_path(), expected_choice());
}

TEST_F(DarwinChoice, EveryCallGoesToTheChosenFamily) {
  exercise_every_operation();
  switch (expected_choice()) {
    case Path::kOsSync:
      // macOS 14.4+, whether the build allows the private calls or not: none is made.
      EXPECT_EQ(shim::ulock_calls(), 0u);
      EXPECT_EQ(shim::os_sync_wait_calls(), 2u);        // the two without a deadline
      EXPECT_EQ(shim::os_sync_timed_wait_calls(), 3u);  // the three with one
      EXPECT_EQ(shim::wake_calls(), 4u);
      EXPECT_EQ(shim::os_sync_calls(), 9u);
      break;
    case Path::kWait2:
    case Path::kLegacy:
      // Before 14.4, with the private fallback allowed: one ulock wait kind, and __ulock_wake.
      EXPECT_EQ(shim::os_sync_calls(), 0u);
      EXPECT_EQ(shim::provides_wait2() ? shim::wait2_calls() : shim::legacy_wait_calls(), 5u);
      EXPECT_EQ(shim::wait_calls(), 5u);
      EXPECT_EQ(shim::ulock_wake_calls(), 4u);
      break;
    case Path::kPortable:
      // Before 14.4 in a build without private calls: the buckets; nothing reaches the shim.
      EXPECT_EQ(shim::wait_calls() + shim::wake_calls(), 0u);
      break;
  }
  if (!du::private_calls_allowed()) {
    EXPECT_FALSE(du::has_wait2()) << "the build does not even look for __ulock_wait2";
    Word word{0};
    const Deadline deadline = Clock::now() + 5ms;  // real timed waits, on whichever path
    while (Backend::wait(word, 0, deadline)) {
    }
    EXPECT_GE(Clock::now(), deadline);
    EXPECT_EQ(shim::ulock_calls(), 0u);
  }
}

TEST_F(DarwinChoice, ForcingAPathTheProcessCannotTakeIsRefused) {
  const std::vector<Path> available = available_paths();
  for (Path path : {Path::kOsSync, Path::kWait2, Path::kLegacy, Path::kPortable}) {
    const bool can = std::find(available.begin(), available.end(), path) != available.end();
    EXPECT_EQ(du::force_path_for_testing(path), can) << du::path_name(path);
    EXPECT_EQ(du::active_path(), can ? path : du::chosen_path()) << du::path_name(path);
    du::stop_forcing_path_for_testing();
  }
}

// ---- timeouts: conversion ---------------------------------------------------------------------

TEST(DarwinTimeouts, TimeoutRoundsUpToMicroseconds) {
  struct Case {
    std::uint64_t ns, us;
  };
  for (const Case c :
       {Case{1000, 1}, Case{1001, 2}, Case{1500, 2}, Case{1999, 2}, Case{2000, 2}, Case{2001, 3},
        Case{1'000'000'000, 1'000'000}, Case{1'000'000'001, 1'000'001}}) {
    const du::KernelTimeout t = du::legacy_timeout(c.ns);
    EXPECT_EQ(t.value, c.us) << c.ns << " ns";
    EXPECT_FALSE(t.capped) << c.ns << " ns";
  }
}

TEST(DarwinTimeouts, LegacyCapsLongTimeoutsAtU32Microseconds) {
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
}

TEST(DarwinTimeouts, NanosecondCallsCapTimeoutsTheKernelCouldOverflow) {
  for (auto convert : {&du::wait2_timeout, &du::os_sync_timeout}) {
    const std::uint64_t cap =
        convert == &du::wait2_timeout ? du::kWait2MaxTimeoutNs : du::kOsSyncMaxTimeoutNs;
    EXPECT_EQ(convert(cap).value, cap);
    EXPECT_FALSE(convert(cap).capped);
    EXPECT_EQ(convert(cap + 1).value, cap);
    EXPECT_TRUE(convert(cap + 1).capped);
    EXPECT_EQ(convert(UINT64_MAX).value, cap);
    // Three times the cap still fits in a u64 (Apple silicon multiplies by 3).
    EXPECT_GE(UINT64_MAX / 3, cap);
  }
}

TEST(DarwinTimeouts, SubMicrosecondRemainderNeverBecomesZero) {
  // 0 is "no timeout" to the ulock calls and EINVAL to os_sync: the last sliver before a deadline
  // must still be a timeout.
  for (std::uint64_t ns : {1, 2, 500, 999}) {
    EXPECT_EQ(du::legacy_timeout(ns).value, 1u) << ns << " ns";
    EXPECT_EQ(du::wait2_timeout(ns).value, ns) << ns << " ns";
    EXPECT_EQ(du::os_sync_timeout(ns).value, ns) << ns << " ns";
  }
}

// ---- each kernel path: what it passes, how it reads the answers -------------------------------

class DarwinKernelCalls : public ::testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    shim::reset();
    ASSERT_TRUE(du::force_path_for_testing(GetParam()));
  }
  void TearDown() override {
    // Whatever the test did, it called this path's functions only.
    if (GetParam() == Path::kOsSync) {
      EXPECT_EQ(shim::ulock_calls(), 0u) << "a private call on the os_sync path";
    } else {
      EXPECT_EQ(shim::os_sync_calls(), 0u) << "an os_sync call on a ulock path";
      EXPECT_EQ(GetParam() == Path::kWait2 ? shim::legacy_wait_calls() : shim::wait2_calls(), 0u)
          << "a wait of the other ulock kind";
    }
    du::stop_forcing_path_for_testing();
    shim::reset();
  }

  bool os_sync() const { return GetParam() == Path::kOsSync; }
  bool legacy() const { return GetParam() == Path::kLegacy; }
  // The call a wait with a deadline makes, and one without.
  shim::WaitCall timed_call() const {
    switch (GetParam()) {
      case Path::kOsSync:
        return shim::WaitCall::kOsSyncWaitWithTimeout;
      case Path::kWait2:
        return shim::WaitCall::kWait2;
      default:
        return shim::WaitCall::kWait;
    }
  }
  shim::WaitCall untimed_call() const {
    return os_sync() ? shim::WaitCall::kOsSyncWait : timed_call();
  }
  // Longest timeout of one call, in its own unit.
  std::uint64_t cap() const {
    switch (GetParam()) {
      case Path::kOsSync:
        return du::kOsSyncMaxTimeoutNs;
      case Path::kWait2:
        return du::kWait2MaxTimeoutNs;
      default:
        return du::kLegacyMaxTimeoutUs;
    }
  }
};

TEST_P(DarwinKernelCalls, PassesWordValueAndTimeoutInTheCallsUnit) {
  Word word{7};
  shim::fail_next_waits(ETIMEDOUT, 1);  // answer at once
  const auto t0 = Clock::now();
  const Deadline deadline = t0 + 250ms;
  Backend::wait(word, 7, deadline);
  const auto t1 = Clock::now();
  const shim::WaitRecord w = shim::last_wait();
  EXPECT_EQ(w.call, timed_call());
  EXPECT_EQ(w.addr, &word);
  EXPECT_EQ(w.value, 7u);
  if (os_sync()) {
    EXPECT_EQ(w.flags, shim::kOsSyncWaitNone);
    EXPECT_EQ(w.size, 4u);
    EXPECT_EQ(w.clock, shim::kMachAbsoluteTime);
  } else {
    EXPECT_EQ(w.operation, kPrivateWait);
    EXPECT_EQ(w.value2, 0u);
  }
  // The backend read the clock at some instant between t0 and t1.
  if (legacy()) {
    // Rounded up: never less than what was left at the latest possible clock reading.
    EXPECT_GE(w.timeout * 1000, ns_between(t1, deadline));
    EXPECT_LE(w.timeout, (ns_between(t0, deadline) + 999) / 1000);
  } else {
    EXPECT_GE(w.timeout, ns_between(t1, deadline));
    EXPECT_LE(w.timeout, ns_between(t0, deadline));
  }
}

TEST_P(DarwinKernelCalls, ForeverPassesNoTimeout) {
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 2);  // return at once; a real kernel never would
  EXPECT_TRUE(Backend::wait(word, 0, kNoDeadline));
  EXPECT_EQ(shim::last_wait().call, untimed_call()) << "os_sync: the call without a timeout";
  EXPECT_EQ(shim::last_wait().timeout, 0u);
  EXPECT_TRUE(Backend::wait_shared(word, 0, kNoDeadline));
  EXPECT_EQ(shim::last_wait().call, untimed_call());
  EXPECT_EQ(shim::last_wait().timeout, 0u);
}

TEST_P(DarwinKernelCalls, PastDeadlineNeverCallsTheKernel) {
  // A deadline that has passed must not reach the kernel as a timeout that rounds to 0.
  Word word{0};
  EXPECT_FALSE(Backend::wait(word, 0, Clock::now()));
  EXPECT_FALSE(Backend::wait(word, 0, Clock::now() - 1ms));
  EXPECT_FALSE(Backend::wait(word, 0, Clock::time_point{}));
  EXPECT_FALSE(Backend::wait(word, 0, Clock::time_point::min()));
  EXPECT_FALSE(Backend::wait_shared(word, 0, Clock::now() - 1ns));
  EXPECT_EQ(shim::wait_calls(), 0u);
}

TEST_P(DarwinKernelCalls, SubMicrosecondRemainderNeverBecomesZero) {
  // Deadlines under a microsecond away. Whenever the backend still calls the kernel (the
  // deadline had not passed when it read the clock), the timeout must not be 0. The shim answers
  // each call with ETIMEDOUT at once, so a wrong 0 shows as a failure, not a hang.
  Word word{0};
  int reached_kernel = 0;
  for (int attempt = 0; attempt < 20000 && reached_kernel < 200; ++attempt) {
    shim::fail_next_waits(ETIMEDOUT, 1);
    const std::uint64_t before = shim::wait_calls();
    const Deadline deadline = Clock::now() + 900ns;
    if (!Backend::wait(word, 0, deadline)) {
      EXPECT_GE(Clock::now(), deadline);
    }
    if (shim::wait_calls() != before) {
      ++reached_kernel;
      const shim::WaitRecord w = shim::last_wait();
      ASSERT_EQ(w.call, timed_call());
      if (legacy()) {
        ASSERT_EQ(w.timeout, 1u);
      } else {
        ASSERT_GE(w.timeout, 1u);
        ASSERT_LE(w.timeout, 900u);
      }
    }
  }
  shim::fail_next_waits(0, 0);
  EXPECT_GT(reached_kernel, 0) << "no wait reached the kernel: cannot judge";
}

TEST_P(DarwinKernelCalls, CappedTimeoutIsASpuriousWakeNotATimeout) {
  // A deadline beyond one call's reach: each capped wait that expires (played by the shim
  // answering ETIMEDOUT at once) is a spurious wake-up, and the next call re-arms it.
  Word word{0};
  const Deadline deadline =
      Clock::now() + (legacy() ? std::chrono::hours(3) : std::chrono::hours(24 * 365 * 200));
  for (int i = 0; i < 3; ++i) {
    shim::fail_next_waits(ETIMEDOUT, 1);
    EXPECT_TRUE(Backend::wait(word, 0, deadline)) << "capped wait " << i;
    EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT);
    EXPECT_EQ(shim::last_wait().timeout, cap());
  }
  EXPECT_EQ(shim::wait_calls(), 3u);

  if (!legacy()) {
    // Three hours fit whole in the nanosecond calls: passed as they are, not capped.
    shim::fail_next_waits(ETIMEDOUT, 1);
    const Deadline in_3h = Clock::now() + 3h;
    EXPECT_TRUE(Backend::wait(word, 0, in_3h)) << "the kernel ended it early: spurious";
    EXPECT_GE(shim::last_wait().timeout, ns_between(Clock::now(), in_3h));
    EXPECT_LT(shim::last_wait().timeout, cap());
  }
}

TEST_P(DarwinKernelCalls, InterruptedFaultedOrStarvedWaitIsASpuriousWake) {
  Word word{0};
  for (int error : {EINTR, EFAULT, ENOMEM}) {
    shim::fail_next_waits(error, 3);
    EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min)) << error;
    EXPECT_TRUE(Backend::wait(word, 0, kNoDeadline)) << error;
    EXPECT_TRUE(Backend::wait_shared(word, 0, Clock::now() + 1min)) << error;
    EXPECT_EQ(shim::last_wait().result, -error);
  }
}

TEST_P(DarwinKernelCalls, EarlyKernelTimeoutBeforeTheDeadlineIsSpurious) {
  // An uncapped wait should only time out after the deadline; should the kernel's timer ever
  // say otherwise, the backend believes steady_clock, not the kernel.
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 1);
  EXPECT_TRUE(Backend::wait(word, 0, Clock::now() + 1min));
  EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT);
}

TEST_P(DarwinKernelCalls, WakeOneAndWakeAllPassTheirFlags) {
  Word word{0};
  Backend::wake_one(&word);
  shim::WakeRecord w = shim::last_wake();
  EXPECT_EQ(w.addr, &word);
  if (os_sync()) {
    EXPECT_EQ(w.call, shim::WakeCall::kOsSyncWakeAny);
    EXPECT_EQ(w.flags, shim::kOsSyncWakeNone);
    EXPECT_EQ(w.size, 4u);
  } else {
    EXPECT_EQ(w.call, shim::WakeCall::kUlockWake);
    EXPECT_EQ(w.operation, shim::kCompareAndWait | shim::kNoErrno);
    EXPECT_EQ(w.wake_value, 0u);
  }
  EXPECT_EQ(shim::wake_all_calls(), 0u);

  Backend::wake_all(&word);
  w = shim::last_wake();
  EXPECT_EQ(w.addr, &word);
  if (os_sync()) {
    EXPECT_EQ(w.call, shim::WakeCall::kOsSyncWakeAll);
    EXPECT_EQ(w.flags, shim::kOsSyncWakeNone);
    EXPECT_EQ(w.size, 4u);
  } else {
    EXPECT_EQ(w.operation, shim::kCompareAndWait | shim::kWakeAll | shim::kNoErrno);
  }
  EXPECT_EQ(shim::wake_all_calls(), 1u);
}

TEST_P(DarwinKernelCalls, SharedVariantsUseTheSharedFlag) {
  Word word{0};
  shim::fail_next_waits(ETIMEDOUT, 2);
  EXPECT_TRUE(Backend::wait_shared(word, 0, Clock::now() + 1min));
  const shim::WaitRecord timed = shim::last_wait();
  EXPECT_TRUE(Backend::wait_shared(word, 0, kNoDeadline));
  const shim::WaitRecord untimed = shim::last_wait();
  Backend::wake_one_shared(&word);
  const shim::WakeRecord one = shim::last_wake();
  Backend::wake_all_shared(&word);
  const shim::WakeRecord all = shim::last_wake();
  if (os_sync()) {
    EXPECT_EQ(timed.flags, shim::kOsSyncWaitShared);
    EXPECT_EQ(untimed.flags, shim::kOsSyncWaitShared);
    EXPECT_EQ(one.call, shim::WakeCall::kOsSyncWakeAny);
    EXPECT_EQ(one.flags, shim::kOsSyncWakeShared);
    EXPECT_EQ(all.call, shim::WakeCall::kOsSyncWakeAll);
    EXPECT_EQ(all.flags, shim::kOsSyncWakeShared);
  } else {
    EXPECT_EQ(timed.operation, kSharedWait);
    EXPECT_EQ(untimed.operation, kSharedWait);
    EXPECT_EQ(one.operation, shim::kCompareAndWaitShared | shim::kNoErrno);
    EXPECT_EQ(all.operation, shim::kCompareAndWaitShared | shim::kWakeAll | shim::kNoErrno);
  }
}

TEST_P(DarwinKernelCalls, WakeWithoutWaitersIsHarmless) {
  Word word{0};
  Backend::wake_one(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  Backend::wake_all(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  Backend::wake_one_shared(&word);
  Backend::wake_all_shared(&word);
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
  EXPECT_EQ(shim::wake_calls(), 4u);  // ENOENT is final: no retry
}

TEST_P(DarwinKernelCalls, InterruptedWakeIsRetried) {
  Word word{0};
  shim::fail_next_wakes(EINTR, 2);
  Backend::wake_one(&word);
  EXPECT_EQ(shim::wake_calls(), 3u);  // two EINTR, then the wake that found nobody
  EXPECT_EQ(shim::last_wake().result, -ENOENT);
}

TEST_P(DarwinKernelCalls, WakeOnUnmappedMemoryIsHarmless) {
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

TEST_P(DarwinKernelCalls, CallersErrnoIsLeftAlone) {
  // ulock: ULF_NO_ERRNO on every call. os_sync sets errno on every error: the backend restores it.
  Word word{0};
  errno = 12345;
  shim::fail_next_waits(EINTR, 1);
  Backend::wait(word, 0, Clock::now() + 1min);
  Backend::wait(word, 0, Clock::now() + 1ms);  // a real futex timeout
  Backend::wait_shared(word, 1, kNoDeadline);  // the word differs
  shim::fail_next_wakes(EINTR, 1);
  Backend::wake_one(&word);  // EINTR, then ENOENT
  Backend::wake_all_shared(&word);
  EXPECT_EQ(errno, 12345);
  EXPECT_EQ(shim::errno_style_calls(), 0u);
}

TEST_P(DarwinKernelCalls, InterruptedWakeStillReachesTheWaiter) {
  Word word{0};
  std::vector<std::unique_ptr<Waiter>> waiters;
  waiters.push_back(std::make_unique<Waiter>(word, false));
  await_blocked(waiters, true);
  word.store(1);
  shim::fail_next_wakes(EINTR, 1);
  Backend::wake_one(&word);
  EXPECT_EQ(shim::wake_calls(), 2u);  // the EINTR, then the wake that reached the waiter
  waiters[0]->join();
  EXPECT_FALSE(waiters[0]->timed_out());
  EXPECT_EQ(waiters[0]->calls(), 1);
}

TEST_P(DarwinKernelCalls, WakeOneWakesOneOfSeveral) {
  // Two waiters, one wake_one: one returns, the other sleeps on until its own wake.
  // (Not on the portable path: the buckets' wake_one wakes every waiter of a bucket.)
  Word word{0};
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < 2; ++i) waiters.push_back(std::make_unique<Waiter>(word, false));
  await_blocked(waiters, true);
  word.store(1);
  Backend::wake_one(&word);
  ASSERT_TRUE(eventually([] { return shim::threads_in_wait() == 1; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(shim::threads_in_wait(), 1) << "wake_one woke more than one waiter";
  Backend::wake_one(&word);
  for (auto& w : waiters) {
    w->join();
    EXPECT_FALSE(w->timed_out());
  }
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DarwinKernelCalls);  // portable-only builds
INSTANTIATE_TEST_SUITE_P(Paths, DarwinKernelCalls, ::testing::ValuesIn(kernel_paths()), param_name);

// ---- real wake-ups through futex, on every path ------------------------------------------------

class DarwinWakeUps : public ::testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    shim::reset();
    ASSERT_TRUE(du::force_path_for_testing(GetParam()));
  }
  void TearDown() override {
    du::stop_forcing_path_for_testing();
    shim::reset();
  }
  // Whether waits and wakes go through the shim (all paths but the portable buckets).
  bool kernel() const { return GetParam() != Path::kPortable; }
};

TEST_P(DarwinWakeUps, WakeOneWakesABlockedWaiter) {
  for (bool shared : {false, true}) {
    Word word{0};
    std::vector<std::unique_ptr<Waiter>> waiters;
    waiters.push_back(std::make_unique<Waiter>(word, shared));
    await_blocked(waiters, kernel());
    word.store(1);
    shared ? Backend::wake_one_shared(&word) : Backend::wake_one(&word);
    waiters[0]->join();
    EXPECT_FALSE(waiters[0]->timed_out()) << "shared=" << shared;
    if (kernel()) {
      EXPECT_EQ(waiters[0]->calls(), 1) << "the one blocking call ended with the wake";
      EXPECT_EQ(shim::last_wake().result, 0) << "the wake found a waiter";
    }
  }
}

TEST_P(DarwinWakeUps, WakeAllWakesEveryBlockedWaiter) {
  for (bool shared : {false, true}) {
    Word word{0};
    std::vector<std::unique_ptr<Waiter>> waiters;
    for (int i = 0; i < 4; ++i) waiters.push_back(std::make_unique<Waiter>(word, shared));
    await_blocked(waiters, kernel());
    word.store(1);
    shared ? Backend::wake_all_shared(&word) : Backend::wake_all(&word);
    for (auto& w : waiters) {
      w->join();
      EXPECT_FALSE(w->timed_out()) << "shared=" << shared;
      if (kernel()) {
        EXPECT_EQ(w->calls(), 1);
      }
    }
  }
  if (kernel()) {
    EXPECT_EQ(shim::wake_all_calls(), 2u);
  }
}

TEST_P(DarwinWakeUps, TimeoutEndsAtTheDeadlineNotBefore) {
  Word word{0};
  for (auto timeout : {1ms, 7ms, 20ms}) {
    const Deadline deadline = Clock::now() + timeout;
    while (Backend::wait(word, 0, deadline)) {
    }
    EXPECT_GE(Clock::now(), deadline);
    if (kernel()) {
      EXPECT_EQ(shim::last_wait().result, -ETIMEDOUT) << "the kernel's timer ended the wait";
    }
  }
  for (auto timeout : {1ms, 7ms}) {
    const Deadline deadline = Clock::now() + timeout;
    while (Backend::wait_shared(word, 0, deadline)) {
    }
    EXPECT_GE(Clock::now(), deadline);
  }
}

TEST_P(DarwinWakeUps, PingPongLosesNoWakeUp) {
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

TEST_P(DarwinWakeUps, SharedWaitIsWokenFromAnotherProcess) {
  // UL_COMPARE_AND_WAIT_SHARED and OS_SYNC_*_SHARED key the wait by memory object, so a waiter
  // in a child process is woken through a mapping shared with its parent. The portable buckets
  // cannot be woken from another process: the child's wait_shared polls and sees the store.
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
  if (kernel()) {
    EXPECT_EQ(shim::last_wake().result, 0) << "the wake found the child waiting";
  }
  munmap(mem, sizeof(Word));
}

INSTANTIATE_TEST_SUITE_P(Paths, DarwinWakeUps, ::testing::ValuesIn(available_paths()), param_name);

}  // namespace
