// SharedAutoResetEvent and SharedManualResetEvent: threads of one process (every platform) and
// real processes (POSIX: fork(), MAP_SHARED and shm_open memory), on every backend variant of the
// library. On the polling backends (portable, windows) the cross-process tests pass more slowly.
//
// Every child process is bounded twice: alarm() kills a child that hangs on its own, and the
// parent waits for it with a deadline and then kills it (Child below). Children only touch
// atomics and the events, and end with _exit(): no GoogleTest in a child.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "exitleft/shared_auto_reset_event.hpp"
#include "exitleft/shared_manual_reset_event.hpp"
#include "tests/support/threads.hpp"
#include "tests/support/wait_until.hpp"
#include "tests/support/watchdog.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#define EXITLEFT_TEST_HAS_FORK 1
#endif

namespace {

using namespace std::chrono_literals;
using exitleft::EventState;
using exitleft::SharedAutoResetEvent;
using exitleft::SharedManualResetEvent;
using exitleft::test::eventually;
using exitleft::test::kPatience;
using exitleft::test::Threads;
using Clock = std::chrono::steady_clock;

// ---- white-box helpers -------------------------------------------------------------------------

// The event's word. Both events are standard-layout with the atomic as their only member, so the
// object and the atomic are pointer-interconvertible.
template <class Event>
std::uint32_t word_of(const Event& e) {
  static_assert(std::is_standard_layout_v<Event>);
  static_assert(sizeof(Event) == sizeof(std::atomic<std::uint32_t>));
  return reinterpret_cast<const std::atomic<std::uint32_t>&>(e).load();
}

// Sets bits of the word directly: half of a set(), as left by a setter killed between its
// update of the word and its wake-up call.
template <class Event>
void or_word(Event& e, std::uint32_t bits) {
  reinterpret_cast<std::atomic<std::uint32_t>&>(e).fetch_or(bits);
}

// How many waiters the word counts (sleeping, about to sleep, or dead while waiting).
template <class Event>
std::uint32_t counted_waiters(const Event& e) {
  return (word_of(e) & Event::kWaiterMask) / Event::kWaiter;
}

// How long a wait that a set() should end at once may take. A wait_for() whose deadline passes
// still returns true if the signal is there by then (its last look), which would hide a lost
// wake-up behind a slow test: so a wait that needed this long counts as not woken.
constexpr std::chrono::seconds kHandOff{5};

template <class Event>
bool woken(Event& e) {
  const auto start = Clock::now();
  return e.wait_for(kHandOff) && Clock::now() - start < kHandOff;
}

// ---- layout: what placing an event in shared memory needs --------------------------------------

template <class Event>
constexpr bool kShareable =
    sizeof(Event) == 4 &&
    std::is_standard_layout_v<Event>&& std::is_trivially_destructible_v<Event> &&
    !std::is_copy_constructible_v<Event> &&
    !std::is_move_constructible_v<Event> && std::is_nothrow_constructible_v<Event, EventState>;
static_assert(kShareable<SharedAutoResetEvent>);
static_assert(kShareable<SharedManualResetEvent>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// constexpr constructors: both can be constant-initialised.
constinit SharedAutoResetEvent g_auto_set(EventState::Set);
constinit SharedManualResetEvent g_manual_set(EventState::Set);

TEST(SharedEventLayout, ConstantInitialisedEventsStartInTheirState) {
  EXPECT_TRUE(g_auto_set.is_set());
  EXPECT_TRUE(g_manual_set.is_set());
  SharedAutoResetEvent a;
  SharedManualResetEvent m;
  EXPECT_FALSE(a.is_set());
  EXPECT_FALSE(m.is_set());
  EXPECT_EQ(word_of(a), 0u);
  EXPECT_EQ(word_of(m), 0u);
}

// ---- SharedAutoResetEvent, threads of one process ----------------------------------------------

TEST(SharedAutoReset, InitiallySetIsConsumedByOneWait) {
  SharedAutoResetEvent e(EventState::Set);
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.try_wait());
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.try_wait());
}

TEST(SharedAutoReset, ExtraSetsWithNoWaiterSaturate) {
  SharedAutoResetEvent e;
  e.set();
  e.set();
  e.set();
  EXPECT_TRUE(e.try_wait());
  EXPECT_FALSE(e.try_wait()) << "the event is a boolean, not a counter";
}

TEST(SharedAutoReset, ResetUnsetsAndWakesNobody) {
  SharedAutoResetEvent e;
  std::atomic<bool> woke{false};
  Threads t;
  t.spawn([&] { woke.store(e.wait_for(300ms)); });
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == 1; }));
  e.reset();
  t.join();
  EXPECT_FALSE(woke.load());
  EXPECT_EQ(word_of(e), 0u) << "a waiter that timed out leaves no trace";
}

TEST(SharedAutoReset, ZeroAndNegativeTimeoutsNeverBlockButConsume) {
  SharedAutoResetEvent e;
  const auto start = Clock::now();
  EXPECT_FALSE(e.wait_for(0ms));
  EXPECT_FALSE(e.wait_for(-5s));
  EXPECT_FALSE(e.wait_for(std::chrono::duration<double>(-1e300)));
  EXPECT_FALSE(e.wait_until(Clock::now() - 1h));
  EXPECT_FALSE(e.wait_until(Clock::time_point::min()));
  EXPECT_FALSE(e.wait_until(std::chrono::system_clock::now() - 1s));
  EXPECT_LT(Clock::now() - start, 1s) << "none of them may block";
  e.set();
  EXPECT_TRUE(e.wait_for(0ms));
  e.set();
  EXPECT_TRUE(e.wait_for(-1ms));
  e.set();
  EXPECT_TRUE(e.wait_until(Clock::time_point::min()));
  EXPECT_FALSE(e.is_set());
  EXPECT_EQ(word_of(e), 0u);
}

TEST(SharedAutoReset, MaxTimeoutsMeanForever) {
  SharedAutoResetEvent e;
  Threads t;
  std::atomic<int> got{0};
  t.spawn([&] { got += e.wait_for(std::chrono::nanoseconds::max()) ? 1 : 0; });
  t.spawn([&] { got += e.wait_for(std::chrono::hours::max()) ? 1 : 0; });
  t.spawn([&] { got += e.wait_until(Clock::time_point::max()) ? 1 : 0; });
  t.spawn([&] { got += e.wait_until(std::chrono::system_clock::time_point::max()) ? 1 : 0; });
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == 4; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(got.load(), 0) << "a huge timeout must not overflow into the past";
  for (int i = 1; i <= 4; ++i) {
    e.set();
    ASSERT_TRUE(eventually([&] { return got.load() == i; }, kHandOff)) << i;
  }
}

TEST(SharedAutoReset, TimedWaitTimesOutAtItsDeadline) {
  SharedAutoResetEvent e;
  auto start = Clock::now();
  EXPECT_FALSE(e.wait_for(30ms));
  EXPECT_GE(Clock::now() - start, 30ms);
  start = Clock::now();
  EXPECT_FALSE(e.wait_until(std::chrono::system_clock::now() + 30ms));
  EXPECT_GE(Clock::now() - start, 25ms);  // system_clock and steady_clock tick apart
  EXPECT_EQ(word_of(e), 0u) << "a waiter that timed out leaves no trace";
}

TEST(SharedAutoReset, ThreadsPingPongLosesNoWakeUp) {
  SharedAutoResetEvent ping, pong;
  constexpr int kRounds = 20000;
  std::atomic<bool> failed{false};
  Threads t;
  t.spawn([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!woken(ping)) {
        failed.store(true);
        return;
      }
      pong.set();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    ping.set();
    ASSERT_TRUE(woken(pong)) << "lost wake-up in round " << i;
  }
  t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(word_of(ping), 0u);
  EXPECT_EQ(word_of(pong), 0u);
}

TEST(SharedAutoReset, EachSetReleasesExactlyOneThread) {
  SharedAutoResetEvent e;
  constexpr std::uint32_t kWaiters = 4;
  constexpr std::uint32_t kSets = 300;
  std::atomic<std::uint32_t> released{0};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  Threads t;
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    t.spawn([&] {
      for (;;) {
        if (!e.wait_for(kPatience)) {
          ++failures;
          return;
        }
        if (stop.load()) return;
        released.fetch_add(1);
      }
    });
  }
  for (std::uint32_t k = 0; k < kSets; ++k) {
    // Every waiter is back in the word's count, so a set that released two would show here.
    ASSERT_TRUE(eventually([&] { return counted_waiters(e) == kWaiters; })) << k;
    ASSERT_EQ(released.load(), k);
    e.set();
    ASSERT_TRUE(eventually([&] { return released.load() == k + 1; }, kHandOff)) << k;
  }
  stop.store(true);
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    e.set();
    ASSERT_TRUE(eventually([&] { return !e.is_set(); }));
  }
  t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(released.load(), kSets);
  EXPECT_EQ(word_of(e), 0u);
}

TEST(SharedAutoReset, NextSetDeliversASignalLeftPendingWithASleeper) {
  // A setter killed between its update of the word and its wake-up call (or a waiter killed
  // after set() woke it, before it took the signal) leaves the event set while a waiter sleeps.
  // The next set() wakes it: set() wakes whenever waiters are counted, set or not.
  SharedAutoResetEvent e;
  std::atomic<bool> got{false};
  Threads t;
  t.spawn([&] { got.store(woken(e)); });
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == 1; }));
  std::this_thread::sleep_for(20ms);  // let it fall asleep
  or_word(e, SharedAutoResetEvent::kSet);
  e.set();
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(word_of(e), 0u);
}

// ---- SharedManualResetEvent, threads of one process --------------------------------------------

TEST(SharedManualReset, SetReleasesEveryThreadAndStaysSet) {
  SharedManualResetEvent e;
  constexpr std::uint32_t kWaiters = 6;
  std::atomic<std::uint32_t> released{0};
  Threads t;
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    t.spawn([&] { released += woken(e) ? 1 : 0; });
  }
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == kWaiters; }));
  e.set();
  t.join();
  EXPECT_EQ(released.load(), kWaiters);
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.try_wait());
  EXPECT_TRUE(e.wait_for(0ms));
  EXPECT_EQ(word_of(e) & SharedManualResetEvent::kWaiterMask, 0u);
  e.reset();
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait_for(0ms));
}

TEST(SharedManualReset, SetThenResetStillReleasesEveryWaiter) {
  // A set() that happens while a thread waits releases it, even if reset() follows at once.
  SharedManualResetEvent e;
  constexpr std::uint32_t kWaiters = 4;
  for (int round = 0; round < 50; ++round) {
    std::atomic<std::uint32_t> released{0};
    Threads t;
    for (std::uint32_t i = 0; i < kWaiters; ++i) {
      t.spawn([&] { released += woken(e) ? 1 : 0; });
    }
    ASSERT_TRUE(eventually([&] { return counted_waiters(e) == kWaiters; }));
    e.set();
    e.reset();
    t.join();
    ASSERT_EQ(released.load(), kWaiters) << "round " << round;
    EXPECT_FALSE(e.is_set());
  }
}

TEST(SharedManualReset, PulseReleasesTheWaitersAndLeavesItUnset) {
  SharedManualResetEvent e;
  e.pulse();  // nobody waiting: only unsets
  EXPECT_FALSE(e.is_set());
  e.set();
  e.pulse();
  EXPECT_FALSE(e.is_set());
  constexpr std::uint32_t kWaiters = 4;
  std::atomic<std::uint32_t> released{0};
  Threads t;
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    t.spawn([&] { released += woken(e) ? 1 : 0; });
  }
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == kWaiters; }));
  e.pulse();
  t.join();
  EXPECT_EQ(released.load(), kWaiters);
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait_for(10ms)) << "a pulse leaves nothing behind for later waits";
}

TEST(SharedManualReset, TimeoutNeverUndoesSet) {
  // A waiter timing out races with set(): once set() has returned the event must stay set.
  SharedManualResetEvent e;
  for (int round = 0; round < 300; ++round) {
    e.reset();
    Threads t;
    t.spawn([&] { (void)e.wait_for(std::chrono::microseconds(round % 50)); });
    t.spawn([&] { (void)e.wait_for(std::chrono::microseconds((round * 7) % 60)); });
    std::this_thread::sleep_for(std::chrono::microseconds(round % 40));
    e.set();
    ASSERT_TRUE(e.is_set()) << "round " << round;
    t.join();
    ASSERT_TRUE(e.is_set()) << "a timed-out waiter undid set() in round " << round;
    ASSERT_EQ(word_of(e) & SharedManualResetEvent::kWaiterMask, 0u);
  }
}

TEST(SharedManualReset, NextSetWakesSleepersLeftBehindByADeadSetter) {
  // A setter killed between its update of the word and its wake-up call leaves the event set
  // while waiters sleep; the next set() wakes them.
  SharedManualResetEvent e;
  std::atomic<int> got{0};
  Threads t;
  for (int i = 0; i < 2; ++i) t.spawn([&] { got += woken(e) ? 1 : 0; });
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == 2; }));
  std::this_thread::sleep_for(20ms);
  or_word(e, SharedManualResetEvent::kSet);  // the update half of set(), without its wake-up
  e.set();
  t.join();
  EXPECT_EQ(got.load(), 2);
  EXPECT_TRUE(e.is_set());
}

TEST(SharedManualReset, ZeroNegativeAndMaxTimeouts) {
  SharedManualResetEvent e;
  const auto start = Clock::now();
  EXPECT_FALSE(e.wait_for(0ms));
  EXPECT_FALSE(e.wait_for(-1s));
  EXPECT_FALSE(e.wait_until(Clock::time_point::min()));
  EXPECT_LT(Clock::now() - start, 1s);
  std::atomic<int> got{0};
  Threads t;
  t.spawn([&] { got += e.wait_for(std::chrono::nanoseconds::max()) ? 1 : 0; });
  t.spawn([&] { got += e.wait_until(Clock::time_point::max()) ? 1 : 0; });
  t.spawn([&] { got += e.wait_until(std::chrono::system_clock::time_point::max()) ? 1 : 0; });
  ASSERT_TRUE(eventually([&] { return counted_waiters(e) == 3; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(got.load(), 0);
  e.set();
  t.join();
  EXPECT_EQ(got.load(), 3);
  EXPECT_TRUE(e.wait_for(0ms));
  EXPECT_TRUE(e.wait_for(-1s));
}

TEST(SharedManualReset, ThreadsPingPongWithSetAndReset) {
  SharedManualResetEvent ping, pong;
  constexpr int kRounds = 10000;
  std::atomic<bool> failed{false};
  Threads t;
  t.spawn([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!woken(ping)) {
        failed.store(true);
        return;
      }
      ping.reset();
      pong.set();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    ping.set();
    ASSERT_TRUE(woken(pong)) << "lost wake-up in round " << i;
    pong.reset();
  }
  t.join();
  EXPECT_FALSE(failed.load());
}

#if EXITLEFT_TEST_HAS_FORK
// ---- processes ---------------------------------------------------------------------------------

// A child process that runs `body` and exits with its result. alarm() ends a child that hangs;
// the destructor kills and reaps a child the test did not wait for (a failed assertion).
class Child {
 public:
  template <class Body>
  explicit Child(Body&& body) : pid_(fork()) {
    if (pid_ == 0) {
      alarm(static_cast<unsigned>(exitleft::test::kTestTimeLimit.count()) + 10);
      _exit(body());
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !reaped_) kill_now();
  }

  bool started() const { return pid_ > 0; }

  // Waits at most `limit` for the child to exit with `code`; kills it if it is still running.
  ::testing::AssertionResult exits_with(int code, std::chrono::milliseconds limit = kPatience) {
    const auto deadline = Clock::now() + limit;
    int status = 0;
    for (;;) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r == -1) return ::testing::AssertionFailure() << "waitpid failed";
      if (Clock::now() >= deadline) {
        kill_now();
        return ::testing::AssertionFailure() << "child still running after the deadline: killed";
      }
      std::this_thread::sleep_for(1ms);
    }
    reaped_ = true;
    if (WIFSIGNALED(status)) {
      return ::testing::AssertionFailure() << "child died of signal " << WTERMSIG(status);
    }
    if (WEXITSTATUS(status) != code) {
      return ::testing::AssertionFailure()
             << "child exited with " << WEXITSTATUS(status) << ", expected " << code;
    }
    return ::testing::AssertionSuccess();
  }

  // SIGKILL, then reap. @return whether SIGKILL is what ended it.
  bool kill_now() {
    kill(pid_, SIGKILL);
    int status = 0;
    const bool reaped = waitpid(pid_, &status, 0) == pid_;
    reaped_ = true;
    return reaped && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

 private:
  pid_t pid_;
  bool reaped_ = false;
};

// A T constructed in an anonymous MAP_SHARED mapping, which children inherit.
template <class T>
class SharedMapping {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  SharedMapping()
      : mem_(mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {
    if (mem_ != MAP_FAILED) object_ = new (mem_) T();
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping() {
    if (object_ != nullptr) munmap(mem_, sizeof(T));
  }
  bool ok() const { return object_ != nullptr; }
  T& operator*() const { return *object_; }
  T* operator->() const { return object_; }

 private:
  void* mem_;
  T* object_ = nullptr;
};

// Child exit codes.
constexpr int kOk = 0;
constexpr int kTimedOut = 2;
constexpr int kWrongState = 3;

// Waits (boundedly) until `e` counts a waiter: the other side has stopped spinning and is
// asleep or about to be, so the next set() has to wake it through the kernel (or, on a polling
// backend, be found by its polling).
template <class Event>
bool until_counted(const Event& e) {
  const auto deadline = Clock::now() + kPatience;
  while (counted_waiters(e) == 0) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// The child's half of a ping-pong: `rounds` times, wait for ping, answer with pong. In odd
// rounds each side sets only once the other one is counted as a waiter, so that half of the
// hand-offs go through a sleep and a wake-up (the other half mostly meet while spinning).
template <class Event>
int answer_pings(Event& ping, Event& pong, int rounds, bool manual) {
  for (int i = 0; i < rounds; ++i) {
    if (!woken(ping)) return kTimedOut;
    if (manual) ping.reset();
    if (i % 2 == 1 && !until_counted(pong)) return kTimedOut;
    pong.set();
  }
  return kOk;
}

// The parent's half; returns the round that lost a wake-up, or -1.
template <class Event>
int send_pings(Event& ping, Event& pong, int rounds, bool manual) {
  for (int i = 0; i < rounds; ++i) {
    if (i % 2 == 1 && !until_counted(ping)) return i;
    ping.set();
    if (!woken(pong)) return i;
    if (manual) pong.reset();
  }
  return -1;
}

template <class Event>
struct PingPong {
  Event ping;
  Event pong;
};

TEST(SharedAutoResetProcesses, PingPongTenThousandRoundTrips) {
  SharedMapping<PingPong<SharedAutoResetEvent>> m;
  ASSERT_TRUE(m.ok());
  constexpr int kRounds = 10000;
  Child child([&] { return answer_pings(m->ping, m->pong, kRounds, false); });
  ASSERT_TRUE(child.started());
  EXPECT_EQ(send_pings(m->ping, m->pong, kRounds, false), -1) << "lost wake-up";
  EXPECT_TRUE(child.exits_with(kOk));
  EXPECT_EQ(word_of(m->ping), 0u);
  EXPECT_EQ(word_of(m->pong), 0u);
}

TEST(SharedManualResetProcesses, PingPongTenThousandRoundTrips) {
  SharedMapping<PingPong<SharedManualResetEvent>> m;
  ASSERT_TRUE(m.ok());
  constexpr int kRounds = 10000;
  Child child([&] { return answer_pings(m->ping, m->pong, kRounds, true); });
  ASSERT_TRUE(child.started());
  EXPECT_EQ(send_pings(m->ping, m->pong, kRounds, true), -1) << "lost wake-up";
  EXPECT_TRUE(child.exits_with(kOk));
  EXPECT_EQ(word_of(m->ping) & SharedManualResetEvent::kWaiterMask, 0u);
  EXPECT_EQ(word_of(m->pong) & SharedManualResetEvent::kWaiterMask, 0u);
}

template <class Event>
struct Crowd {
  Event event;
  std::atomic<std::uint32_t> released{0};
  std::atomic<std::uint32_t> stop{0};
};

TEST(SharedAutoResetProcesses, EachSetReleasesExactlyOneWaiterProcess) {
  SharedMapping<Crowd<SharedAutoResetEvent>> m;
  ASSERT_TRUE(m.ok());
  constexpr std::uint32_t kWaiters = 4;
  constexpr std::uint32_t kSets = 200;
  std::vector<std::unique_ptr<Child>> children;
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    children.push_back(std::make_unique<Child>([&] {
      for (;;) {
        if (!m->event.wait_for(kPatience)) return kTimedOut;
        if (m->stop.load()) return kOk;
        m->released.fetch_add(1);  // seq_cst: read by the parent
      }
    }));
    ASSERT_TRUE(children.back()->started());
  }
  for (std::uint32_t k = 0; k < kSets; ++k) {
    // Every waiter is back in the count, asleep or about to be: a set that released two of them
    // would show in `released` now.
    ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == kWaiters; })) << k;
    ASSERT_EQ(m->released.load(), k);
    m->event.set();
    ASSERT_TRUE(eventually([&] { return m->released.load() == k + 1; }, kHandOff)) << "set " << k;
  }
  ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == kWaiters; }));
  EXPECT_EQ(m->released.load(), kSets);
  m->stop.store(1);
  for (std::uint32_t i = 0; i < kWaiters; ++i) {
    m->event.set();  // releases one child, which sees `stop` and exits
    ASSERT_TRUE(eventually([&] { return !m->event.is_set(); }));
  }
  for (auto& c : children) EXPECT_TRUE(c->exits_with(kOk));
  EXPECT_EQ(m->released.load(), kSets);
  EXPECT_EQ(word_of(m->event), 0u);
}

// Waiter processes for a manual-reset event; each exits kOk when its wait returns true.
std::vector<std::unique_ptr<Child>> manual_waiters(Crowd<SharedManualResetEvent>& c, int n,
                                                   bool expect_set) {
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < n; ++i) {
    children.push_back(std::make_unique<Child>([&c, expect_set] {
      if (!woken(c.event)) return kTimedOut;
      c.released.fetch_add(1);
      return !expect_set || c.event.is_set() ? kOk : kWrongState;
    }));
  }
  return children;
}

TEST(SharedManualResetProcesses, SetReleasesEveryWaiterProcessAndStaysSet) {
  SharedMapping<Crowd<SharedManualResetEvent>> m;
  ASSERT_TRUE(m.ok());
  constexpr int kWaiters = 4;
  auto children = manual_waiters(*m, kWaiters, true);
  for (auto& c : children) ASSERT_TRUE(c->started());
  ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == kWaiters; }));
  m->event.set();
  for (auto& c : children) EXPECT_TRUE(c->exits_with(kOk));
  EXPECT_EQ(m->released.load(), std::uint32_t{kWaiters});
  EXPECT_TRUE(m->event.is_set());
  EXPECT_EQ(counted_waiters(m->event), 0u);
}

TEST(SharedManualResetProcesses, SetThenResetAndPulseReleaseEveryWaiterProcess) {
  SharedMapping<Crowd<SharedManualResetEvent>> m;
  ASSERT_TRUE(m.ok());
  constexpr int kWaiters = 3;
  for (int round = 0; round < 10; ++round) {
    m->released.store(0);
    auto children = manual_waiters(*m, kWaiters, false);
    for (auto& c : children) ASSERT_TRUE(c->started());
    ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == kWaiters; }));
    if (round % 2 == 0) {
      m->event.set();
      m->event.reset();
    } else {
      m->event.pulse();
    }
    for (auto& c : children) EXPECT_TRUE(c->exits_with(kOk)) << "round " << round;
    EXPECT_EQ(m->released.load(), std::uint32_t{kWaiters});
    EXPECT_FALSE(m->event.is_set());
  }
}

TEST(SharedAutoResetProcesses, WaiterKilledWhileWaitingDoesNotBreakTheEvent) {
  SharedMapping<PingPong<SharedAutoResetEvent>> m;
  ASSERT_TRUE(m.ok());
  {
    Child victim([&] {
      m->ping.wait();  // untimed: only SIGKILL (or the alarm) ends it
      return kWrongState;
    });
    ASSERT_TRUE(victim.started());
    ASSERT_TRUE(eventually([&] { return counted_waiters(m->ping) == 1; }));
    std::this_thread::sleep_for(20ms);  // let it reach the kernel
    ASSERT_TRUE(victim.kill_now());
  }
  // The dead waiter's count stays: harmless, each set() now makes a needless wake-up call.
  EXPECT_EQ(counted_waiters(m->ping), 1u);
  EXPECT_FALSE(m->ping.is_set());
  // With nobody alive waiting, a set stays set until one wait consumes it.
  m->ping.set();
  EXPECT_TRUE(m->ping.try_wait());
  EXPECT_FALSE(m->ping.try_wait());
  // The survivors hand off through it as before.
  constexpr int kRounds = 2000;
  Child survivor([&] { return answer_pings(m->ping, m->pong, kRounds, false); });
  ASSERT_TRUE(survivor.started());
  EXPECT_EQ(send_pings(m->ping, m->pong, kRounds, false), -1) << "lost wake-up";
  EXPECT_TRUE(survivor.exits_with(kOk));
  // A new waiter process is released by a set.
  Child waiter([&] { return woken(m->ping) ? kOk : kTimedOut; });
  ASSERT_TRUE(waiter.started());
  ASSERT_TRUE(eventually([&] { return counted_waiters(m->ping) == 2; }));
  m->ping.set();
  EXPECT_TRUE(waiter.exits_with(kOk));
  EXPECT_EQ(counted_waiters(m->ping), 1u);
}

TEST(SharedManualResetProcesses, WaiterKilledWhileWaitingDoesNotBreakTheEvent) {
  SharedMapping<Crowd<SharedManualResetEvent>> m;
  ASSERT_TRUE(m.ok());
  {
    Child victim([&] {
      m->event.wait();
      return kWrongState;
    });
    ASSERT_TRUE(victim.started());
    ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == 1; }));
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(victim.kill_now());
  }
  EXPECT_EQ(counted_waiters(m->event), 1u);
  constexpr int kWaiters = 3;
  auto children = manual_waiters(*m, kWaiters, true);
  for (auto& c : children) ASSERT_TRUE(c->started());
  ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == kWaiters + 1; }));
  m->event.set();
  for (auto& c : children) EXPECT_TRUE(c->exits_with(kOk));
  EXPECT_TRUE(m->event.is_set());
  m->event.reset();
  Child late([&] { return m->event.wait_for(30ms) ? kWrongState : kOk; });
  ASSERT_TRUE(late.started());
  EXPECT_TRUE(late.exits_with(kOk)) << "a wait on the reset event must time out";
  EXPECT_EQ(counted_waiters(m->event), 1u) << "only the dead waiter's count stays";
}

TEST(SharedAutoResetProcesses, ProcessesKilledAtRandomMomentsDoNotBreakTheEvent) {
  // Victims pass the signal around (wait, then set) and are killed at random moments: asleep,
  // spinning, between their wake-up and taking the signal, inside set(). Afterwards the event
  // may be set or not and count dead waiters, but it still works between the survivors.
  SharedMapping<PingPong<SharedAutoResetEvent>> m;
  ASSERT_TRUE(m.ok());
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> pause_us(0, 3000);
  for (int round = 0; round < 20; ++round) {
    Child a([&] {
      for (;;) {
        if (m->ping.wait_for(kPatience)) m->ping.set();
      }
      return kOk;
    });
    Child b([&] {
      for (;;) {
        m->ping.set();
        (void)m->ping.wait_for(1ms);
      }
      return kOk;
    });
    ASSERT_TRUE(a.started() && b.started());
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us(rng)));
    ASSERT_TRUE(a.kill_now());
    ASSERT_TRUE(b.kill_now());
  }
  EXPECT_LE(counted_waiters(m->ping), 40u);
  m->ping.reset();
  EXPECT_FALSE(m->ping.wait_for(1ms));
  constexpr int kRounds = 1000;
  Child survivor([&] { return answer_pings(m->ping, m->pong, kRounds, false); });
  ASSERT_TRUE(survivor.started());
  EXPECT_EQ(send_pings(m->ping, m->pong, kRounds, false), -1) << "lost wake-up";
  EXPECT_TRUE(survivor.exits_with(kOk));
}

TEST(SharedAutoResetProcesses, TimeoutsAcrossProcesses) {
  SharedMapping<PingPong<SharedAutoResetEvent>> m;
  ASSERT_TRUE(m.ok());
  // Zero and negative: never block, still consume.
  Child quick([&] {
    const auto start = Clock::now();
    if (m->ping.wait_for(0ms) || m->ping.wait_for(-1s)) return kWrongState;
    if (Clock::now() - start > 1s) return kTimedOut;
    m->pong.set();  // "now set ping"
    for (int i = 0; i < 20000 && !m->ping.is_set(); ++i) std::this_thread::sleep_for(1ms);
    if (!m->ping.wait_for(0ms)) return kWrongState;
    return m->ping.is_set() ? kWrongState : kOk;
  });
  ASSERT_TRUE(quick.started());
  ASSERT_TRUE(m->pong.wait_for(kPatience));
  m->ping.set();
  EXPECT_TRUE(quick.exits_with(kOk));
  // A finite timeout ends no earlier than asked and leaves no trace.
  Child timed([&] {
    const auto start = Clock::now();
    if (m->ping.wait_for(40ms)) return kWrongState;
    return Clock::now() - start >= 40ms ? kOk : kTimedOut;
  });
  ASSERT_TRUE(timed.started());
  EXPECT_TRUE(timed.exits_with(kOk));
  EXPECT_EQ(word_of(m->ping), 0u);
  // duration::max() and time_point::max() wait until the set comes.
  Child forever([&] {
    if (!m->ping.wait_for(std::chrono::nanoseconds::max())) return kTimedOut;
    if (!m->ping.wait_until(Clock::time_point::max())) return kTimedOut;
    return kOk;
  });
  ASSERT_TRUE(forever.started());
  for (int i = 0; i < 2; ++i) {
    // The child is waiting again (the previous set taken, the child counted).
    ASSERT_TRUE(eventually([&] { return word_of(m->ping) == SharedAutoResetEvent::kWaiter; }));
    std::this_thread::sleep_for(20ms);
    m->ping.set();
  }
  EXPECT_TRUE(forever.exits_with(kOk));
}

TEST(SharedManualResetProcesses, MaxTimeoutWaitsForTheSet) {
  SharedMapping<Crowd<SharedManualResetEvent>> m;
  ASSERT_TRUE(m.ok());
  Child forever([&] {
    if (!m->event.wait_for(std::chrono::hours::max())) return kTimedOut;
    return m->event.wait_until(std::chrono::system_clock::time_point::max()) ? kOk : kTimedOut;
  });
  ASSERT_TRUE(forever.started());
  ASSERT_TRUE(eventually([&] { return counted_waiters(m->event) == 1; }));
  std::this_thread::sleep_for(20ms);
  m->event.set();
  EXPECT_TRUE(forever.exits_with(kOk));
}

// A POSIX shared memory object, created by name and unlinked when the test ends.
class ShmObject {
 public:
  ShmObject() : name_("/exitleft_shared_event_test_" + std::to_string(getpid())) {
    fd_ = shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd_ != -1 && ftruncate(fd_, kSize) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ShmObject(const ShmObject&) = delete;
  ShmObject& operator=(const ShmObject&) = delete;
  ~ShmObject() {
    if (fd_ != -1) {
      close(fd_);
      shm_unlink(name_.c_str());
    }
  }
  bool ok() const { return fd_ != -1; }
  const std::string& name() const { return name_; }

  // Maps the object, opened again by name (as an unrelated process would), at an address of
  // the kernel's choosing. nullptr on failure.
  static void* map(const std::string& name) {
    const int fd = shm_open(name.c_str(), O_RDWR, 0);
    if (fd == -1) return nullptr;
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? nullptr : p;
  }
  static void unmap(void* p) { munmap(p, kSize); }

  static constexpr std::size_t kSize = 4096;

 private:
  std::string name_;
  int fd_ = -1;
};

TEST(SharedEventShmOpen, ProcessesOpenTheRegionByNameAndHandOff) {
  ShmObject shm;
  ASSERT_TRUE(shm.ok()) << "shm_open failed";
  void* mine = ShmObject::map(shm.name());
  ASSERT_NE(mine, nullptr);
  // The creator constructs the events; the child maps the region itself, by name.
  auto* pp = new (mine) PingPong<SharedAutoResetEvent>();
  auto* gate = new (static_cast<char*>(mine) + 64) SharedManualResetEvent();
  constexpr int kRounds = 2000;
  const std::string name = shm.name();
  Child child([&name] {
    void* theirs = ShmObject::map(name);
    if (theirs == nullptr) return 10;
    auto& p = *std::launder(static_cast<PingPong<SharedAutoResetEvent>*>(theirs));
    auto& g =
        *std::launder(reinterpret_cast<SharedManualResetEvent*>(static_cast<char*>(theirs) + 64));
    if (!g.wait_for(kPatience)) return kTimedOut;
    const int r = answer_pings(p.ping, p.pong, kRounds, false);
    ShmObject::unmap(theirs);
    return r;
  });
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(eventually([&] { return counted_waiters(*gate) == 1; }));
  gate->set();
  EXPECT_EQ(send_pings(pp->ping, pp->pong, kRounds, false), -1) << "lost wake-up";
  EXPECT_TRUE(child.exits_with(kOk));
  ShmObject::unmap(mine);
}

TEST(SharedEventShmOpen, OneEventMappedAtTwoAddressesInOneProcess) {
  // The wait is keyed by the memory, not by the address: a waiter on one mapping is woken by a
  // set through another mapping of the same page.
  ShmObject shm;
  ASSERT_TRUE(shm.ok()) << "shm_open failed";
  void* a = ShmObject::map(shm.name());
  void* b = ShmObject::map(shm.name());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(a, b);
  auto* via_a = new (a) PingPong<SharedAutoResetEvent>();
  auto* via_b = std::launder(static_cast<PingPong<SharedAutoResetEvent>*>(b));
  constexpr int kRounds = 2000;
  std::atomic<int> result{-1};
  Threads t;
  t.spawn([&] { result.store(answer_pings(via_b->ping, via_b->pong, kRounds, false)); });
  EXPECT_EQ(send_pings(via_a->ping, via_a->pong, kRounds, false), -1) << "lost wake-up";
  t.join();
  EXPECT_EQ(result.load(), kOk);
  ShmObject::unmap(a);
  ShmObject::unmap(b);
}
#endif  // EXITLEFT_TEST_HAS_FORK

}  // namespace
