// Fork safety, as docs/fork.md states it, on every backend variant of the library (POSIX only:
// Windows has no fork). The parent keeps threads busy on every primitive (parked on events,
// semaphores, countdowns, wait_any and wait_all; hammering set / release / timed waits so that
// the lot's bucket locks and the multi-wait engine's lock are held at random moments; a Stage
// with a head and waiters; the parking lot itself) and forks again and again. Each child, which
// has only the forking thread, uses exitleft from two threads and reports through its exit
// status; it never touches GoogleTest and ends with _exit(). A child that hangs is killed by its
// alarm() and the parent reports it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "exitleft/parking_lot.hpp"
#include "exitleft/semaphore.hpp"
#include "exitleft/stage.hpp"
#include "exitleft/wait.hpp"
#if __has_include("exitleft/shared_auto_reset_event.hpp")
#include "exitleft/shared_auto_reset_event.hpp"
#include "exitleft/shared_manual_reset_event.hpp"
#define EXITLEFT_FORK_TEST_SHARED_EVENTS 1
#endif
#include "tests/support/lot_probe.hpp"
#include "tests/support/threads.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::AutoResetEvent;
using exitleft::CountdownEvent;
using exitleft::ManualResetEvent;
using exitleft::Semaphore;
using exitleft::test::eventually;
using exitleft::test::Threads;
using Clock = std::chrono::steady_clock;
namespace pl = exitleft::parking_lot;

constexpr unsigned kChildAlarmSeconds = 20;  // a child still running then is killed
constexpr auto kChildPatience = 5s;          // how long a child waits for "at once"
constexpr int kForks = 50;

// ---- the child's side: async-signal-safe reporting, then _exit -------------------------------

[[noreturn]] void child_fail(int code, const char* what) {
  const char prefix[] = "fork_test child: ";
  (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(code);
}
// The code of the CHILD_CHECK the child evaluates now or last did: a child that hangs names it.
std::atomic<int> g_child_step{0};
#define CHILD_CHECK(cond, code)                          \
  do {                                                   \
    g_child_step.store(code, std::memory_order_relaxed); \
    if (!(cond)) child_fail(code, #cond);                \
  } while (0)

// SIGALRM in a child: says which CHILD_CHECK it hung in or after, then dies of the signal.
void child_alarm(int) {
  char text[] = "fork_test child: hung in or after CHILD_CHECK code       \n";
  int code = g_child_step.load(std::memory_order_relaxed);
  char* p = text + sizeof text - 3;  // the last blank before the newline
  do {
    *p-- = static_cast<char>('0' + code % 10);
    code /= 10;
  } while (code > 0 && *p == ' ');
  (void)!write(STDERR_FILENO, text, sizeof text - 1);
  signal(SIGALRM, SIG_DFL);
  raise(SIGALRM);
}

// Runs `f` on a second thread of the child; join() returns its result.
class ChildThread {
 public:
  template <class F>
  explicit ChildThread(F&& f) : thread_([this, f = std::forward<F>(f)]() mutable { ok_ = f(); }) {}
  bool join() {
    thread_.join();
    return ok_;
  }

 private:
  bool ok_ = false;
  std::thread thread_;
};

// Describes how a child ended, for the parent's messages.
std::string describe(int status) {
  if (status < 0) return "nothing: fork() or waitpid() failed";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) +
           (sig == SIGALRM ? " (its alarm: it hung)" : "");
  }
  return "status " + std::to_string(status);
}

// Forks. The child runs `child` under an alarm, then _exit(0)s (a failed CHILD_CHECK _exits
// earlier with its code). The parent waits for the child and returns its wait status, or -1 if
// fork() or waitpid() failed.
template <class Child>
int fork_and_wait(Child&& child) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    g_child_step.store(0, std::memory_order_relaxed);
    signal(SIGALRM, child_alarm);
    alarm(kChildAlarmSeconds);
    child();
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// ---- what a child does with objects of its own -------------------------------------------------

// Every primitive, created in the child and used across two of its threads.
void use_fresh_primitives(int base) {
  {  // AutoResetEvent hand-offs: ping-pong.
    AutoResetEvent ping, pong;
    ChildThread t([&] {
      for (int i = 0; i < 200; ++i) {
        if (!ping.wait_for(kChildPatience)) return false;
        pong.set();
      }
      return true;
    });
    for (int i = 0; i < 200; ++i) {
      ping.set();
      CHILD_CHECK(pong.wait_for(kChildPatience), base + 1);
    }
    CHILD_CHECK(t.join(), base + 2);
  }
  {  // ManualResetEvent broadcast to two parked waiters.
    ManualResetEvent gate;
    ChildThread t1([&] { return gate.wait_for(kChildPatience); });
    ChildThread t2([&] { return gate.wait_for(kChildPatience); });
    CHILD_CHECK(exitleft::test::until_parked(&gate, 2), base + 3);
    gate.set();
    CHILD_CHECK(t1.join() && t2.join(), base + 4);
    CHILD_CHECK(gate.is_set(), base + 5);
  }
  {  // Semaphore: 300 units from one thread to the other.
    Semaphore sem(0, 4);
    ChildThread t([&] {
      for (int i = 0; i < 300;) {
        if (sem.release(1)) {
          ++i;
        } else {
          std::this_thread::yield();  // full
        }
      }
      return true;
    });
    for (int i = 0; i < 300; ++i) CHILD_CHECK(sem.try_acquire_for(kChildPatience), base + 6);
    CHILD_CHECK(t.join() && sem.count() == 0, base + 7);
  }
  {  // CountdownEvent: two decrementers, one waiter; exactly one decrement reaches 0.
    CountdownEvent latch(2);
    std::atomic<int> reached{0};
    ChildThread t([&] {
      reached += latch.decrement() ? 1 : 0;
      return true;
    });
    ChildThread waiter([&] { return latch.wait_for(kChildPatience); });
    reached += latch.decrement() ? 1 : 0;
    CHILD_CHECK(t.join() && waiter.join(), base + 8);
    CHILD_CHECK(reached.load() == 1 && latch.count() == 0, base + 9);
  }
  {  // wait_all then wait_any, the objects signalled by the other thread.
    AutoResetEvent a;
    Semaphore s(0);
    ManualResetEvent m;
    ChildThread t([&] {
      if (!exitleft::wait_all_for(kChildPatience, {a, s, m})) return false;
      const auto i = exitleft::wait_any_for(kChildPatience, {a, s});
      return i && *i == 1;
    });
    std::this_thread::sleep_for(1ms);
    a.set();
    s.release(1);
    m.set();
    std::this_thread::sleep_for(1ms);
    s.release(1);
    CHILD_CHECK(t.join(), base + 10);
    CHILD_CHECK(!a.is_set() && s.count() == 0 && m.is_set(), base + 11);
  }
  {  // A small Stage: two workers, each waiting for 20 messages of its own.
    struct Wire {
      std::atomic<int> next{0};
      int tokens[40];
    } wire;
    for (int i = 0; i < 40; ++i) wire.tokens[i] = 1 + i % 2;  // 20 messages for each
    struct Counts {
      int waiting[3] = {0, 0, 0};
    };
    exitleft::Stage<int, Wire*, Counts> stage(&wire);
    auto worker = [&](int token) {
      auto ticket = stage.ticket(token);
      if (!ticket) return false;
      int got = 0;
      const auto until = Clock::now() + kChildPatience;
      while (got < 20 && Clock::now() < until) {
        const int mine =
            stage.buffer([&](Counts& c) { return std::exchange(c.waiting[token], 0); });
        got += mine;
        if (mine != 0) continue;
        auto exit = stage.enter_for(*ticket, 100ms, [&](auto& d) {
          for (;;) {
            const int i = d.resource()->next.fetch_add(1);
            if (i >= 40) return 0;
            const int to = d.resource()->tokens[i];
            if (to == token) return 1;
            d.buffer([&](Counts& c) { ++c.waiting[to]; });
            d.notify(to);
          }
        });
        if (exit.kind() == decltype(exit)::Finished) got += exit.value();
      }
      return got == 20;
    };
    ChildThread t([&] { return worker(2); });
    const bool mine = worker(1);
    CHILD_CHECK(t.join() && mine, base + 12);
  }
  {  // The parking lot itself.
    int key = 0;
    pl::ParkResult got{pl::ParkResult::Kind::Invalid, 0};
    ChildThread t([&] {
      got = pl::park(
          &key, [] { return true; }, [] {}, [](const void*, bool) {}, 0,
          Clock::now() + kChildPatience);
      return true;
    });
    CHILD_CHECK(exitleft::test::until_parked(&key, 1), base + 13);
    pl::unpark_one(&key, [](pl::UnparkResult) { return pl::UnparkToken{7}; });
    CHILD_CHECK(t.join() && got.kind == pl::ParkResult::Kind::Unparked && got.token == 7,
                base + 14);
  }
}

// ---- the parent's busy objects ---------------------------------------------------------------

// Objects that parent threads only wait on (parked, untimed) at the moment of every fork.
struct Parked {
  static constexpr int kWaiters = 2;
  AutoResetEvent autos;
  ManualResetEvent manual;
  Semaphore sem{0};
  CountdownEvent countdown{1};
  AutoResetEvent any_a;  // a wait_any({any_a, any_s}) is parked on these
  Semaphore any_s{0};
  ManualResetEvent all_m;  // a wait_all({all_m, all_c}) is parked on these
  CountdownEvent all_c{1};
  Threads threads;
  std::atomic<int> done{0};

  void start() {
    for (int i = 0; i < kWaiters; ++i) {
      threads.spawn([this] {
        autos.wait();
        ++done;
      });
      threads.spawn([this] {
        manual.wait();
        ++done;
      });
      threads.spawn([this] {
        sem.acquire();
        ++done;
      });
      threads.spawn([this] {
        countdown.wait();
        ++done;
      });
    }
    threads.spawn([this] {
      exitleft::wait_any({any_a, any_s});
      ++done;
    });
    threads.spawn([this] {
      exitleft::wait_all({all_m, all_c});
      ++done;
    });
  }
  // Until every single-object waiter is asleep in the lot and the multi-waiters registered.
  bool all_parked() {
    using exitleft::test::parked_on;
    return eventually([&] {
      return parked_on(&autos) == kWaiters && parked_on(&manual) == kWaiters &&
             parked_on(&sem) == kWaiters && parked_on(&countdown) == kWaiters &&
             has_bit<std::uint8_t>(any_a, exitleft::RawEvent::kMulti) &&
             has_bit<std::uint64_t>(any_s, Semaphore::kMulti) &&
             has_bit<std::uint8_t>(all_m, exitleft::RawEvent::kMulti) &&
             has_bit<std::uint64_t>(all_c, CountdownEvent::kMulti);
    });
  }
  // Looks at a state bit of an object (the multi-wait engine's view of it).
  template <class Word>
  static bool has_bit(exitleft::WaitableRef r, Word bit) {
    return (static_cast<const std::atomic<Word>*>(r.target().state)->load() & bit) != 0;
  }
  void finish() {
    manual.set();
    sem.release(kWaiters);
    countdown.decrement();
    any_s.release(1);
    all_m.set();
    all_c.decrement();
    // One set() wakes one waiter: repeat until both are gone.
    eventually([&] {
      autos.set();
      return done.load() == 4 * kWaiters + 2;
    });
    threads.join();
  }

  // In the child: each object works, across two of the child's threads, starting from the value
  // it had (nothing consumed it) and with the stale PARKED / MULTI bits its waiters left.
  void use_in_child() {
    using exitleft::test::until_parked;
    CHILD_CHECK(!autos.is_set() && !manual.is_set() && sem.count() == 0 && countdown.count() == 1 &&
                    !any_a.is_set() && any_s.count() == 0 && !all_m.is_set() && all_c.count() == 1,
                20);
    {
      ChildThread t([&] { return autos.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&autos, 1), 21);
      autos.set();
      CHILD_CHECK(t.join() && !autos.is_set(), 22);
      autos.set();  // nobody waits now: it stays set for one try_wait
      CHILD_CHECK(autos.try_wait() && !autos.try_wait(), 23);
    }
    {
      ChildThread t1([&] { return manual.wait_for(kChildPatience); });
      ChildThread t2([&] { return manual.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&manual, 2), 24);
      manual.set();
      CHILD_CHECK(t1.join() && t2.join() && manual.is_set(), 25);
    }
    {
      ChildThread t([&] { return sem.try_acquire_for(kChildPatience); });
      CHILD_CHECK(until_parked(&sem, 1), 26);
      CHILD_CHECK(sem.release(1), 27);
      CHILD_CHECK(t.join() && sem.count() == 0, 28);
    }
    {
      ChildThread t([&] { return countdown.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&countdown, 1), 29);
      CHILD_CHECK(countdown.decrement(), 30);
      CHILD_CHECK(t.join() && countdown.count() == 0, 31);
    }
    {
      ChildThread t([&] {
        const auto i = exitleft::wait_any_for(kChildPatience, {any_a, any_s});
        return i && *i == 1;
      });
      std::this_thread::sleep_for(1ms);
      CHILD_CHECK(any_s.release(1), 32);
      CHILD_CHECK(t.join() && any_s.count() == 0, 33);
      ChildThread single([&] { return any_a.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&any_a, 1), 34);
      any_a.set();
      CHILD_CHECK(single.join() && !any_a.is_set(), 35);
    }
    {
      ChildThread t([&] { return exitleft::wait_all_for(kChildPatience, {all_m, all_c}); });
      std::this_thread::sleep_for(1ms);
      all_m.set();
      std::this_thread::sleep_for(1ms);
      CHILD_CHECK(all_c.decrement(), 36);
      CHILD_CHECK(t.join() && all_m.is_set() && all_c.count() == 0, 37);
    }
  }
};

// Objects that parent threads are operating on (not just waiting) at random moments of every
// fork: sets, releases, timed waits, and multi-object waits on some of them.
struct Hammered {
  AutoResetEvent autos;
  ManualResetEvent manual;
  Semaphore sem{0, 8};
  CountdownEvent countdown{0};
  AutoResetEvent multi_a;  // also in wait_any / wait_all: their operations go through the engine
  Semaphore multi_s{0, 8};
  ManualResetEvent multi_m;
  CountdownEvent multi_c{1};
  int lot_key = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};  // loop iterations of both threads (relaxed: a progress count)
  Threads threads;

  void start() {
    for (int i = 0; i < 2; ++i) {
      threads.spawn([this, i] {
        std::minstd_rand rng(static_cast<unsigned>(i + 1));
        while (!stop.load(std::memory_order_relaxed)) {
          rounds.fetch_add(1, std::memory_order_relaxed);
          const auto t = std::chrono::microseconds(rng() % 200);
          switch (rng() % 8) {
            case 0:
              autos.set();
              (void)autos.wait_for(t);
              break;
            case 1:
              manual.set();
              (void)manual.wait_for(t);
              manual.pulse();
              manual.reset();
              break;
            case 2:
              sem.release(1 + rng() % 2);
              (void)sem.try_acquire_for(t);
              break;
            case 3:
              // Each decrement follows this thread's own increment, so none finds the count at
              // 0 and throws: a throw allocates, and the parent's threads must not allocate
              // between forks (see the test below). The count still reaches 0 whenever the two
              // threads' pairs do not overlap.
              countdown.increment(1);
              (void)countdown.decrement();
              (void)countdown.wait_for(t);
              break;
            case 4:
              multi_a.set();
              multi_s.release(1);
              (void)exitleft::wait_any_for(t, {multi_a, multi_s, multi_m});
              break;
            case 5:
              multi_m.set();
              (void)exitleft::wait_all_for(t, {multi_a, multi_s, multi_c});
              multi_m.pulse();
              break;
            case 6:
              multi_c.reset(rng() % 2);
              (void)multi_s.try_acquire_for(t);
              (void)exitleft::wait_all_for(t, {multi_m, multi_c});
              break;
            default:
              (void)pl::park(
                  &lot_key, [] { return true; }, [] {}, [](const void*, bool) {}, 0,
                  Clock::now() + t);
              pl::unpark_one(&lot_key, [](pl::UnparkResult) { return pl::UnparkToken{0}; });
              break;
          }
        }
      });
    }
  }
  void finish() {
    stop.store(true);
    threads.join();
  }

  // In the child: whatever value an interrupted operation left, each object works once it is
  // reset or drained.
  void use_in_child() {
    using exitleft::test::until_parked;
    autos.reset();
    multi_a.reset();
    manual.reset();
    multi_m.reset();
    countdown.reset(1);
    multi_c.reset(1);
    while (sem.try_acquire()) {
    }
    while (multi_s.try_acquire()) {
    }
    {
      ChildThread t([&] { return autos.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&autos, 1), 40);
      autos.set();
      CHILD_CHECK(t.join(), 41);
    }
    {
      ChildThread t([&] { return manual.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&manual, 1), 42);
      manual.set();
      CHILD_CHECK(t.join(), 43);
    }
    {
      ChildThread t([&] { return sem.try_acquire_for(kChildPatience); });
      CHILD_CHECK(until_parked(&sem, 1), 44);
      CHILD_CHECK(sem.release(1), 45);
      CHILD_CHECK(t.join() && sem.count() == 0, 46);
    }
    {
      ChildThread t([&] { return countdown.wait_for(kChildPatience); });
      CHILD_CHECK(until_parked(&countdown, 1), 47);
      CHILD_CHECK(countdown.decrement(), 48);
      CHILD_CHECK(t.join(), 49);
    }
    {
      ChildThread t([&] {
        if (!exitleft::wait_all_for(kChildPatience, {multi_a, multi_s, multi_m, multi_c})) {
          return false;
        }
        // multi_a was consumed by the wait_all, so only multi_s can satisfy this.
        const auto i = exitleft::wait_any_for(kChildPatience, {multi_a, multi_s});
        return i && *i == 1;
      });
      std::this_thread::sleep_for(1ms);
      multi_a.set();
      CHILD_CHECK(multi_s.release(1), 50);
      multi_m.set();
      CHILD_CHECK(multi_c.decrement(), 51);
      std::this_thread::sleep_for(1ms);
      CHILD_CHECK(multi_s.release(1), 56);
      CHILD_CHECK(t.join(), 52);
      CHILD_CHECK(!multi_a.is_set() && multi_s.count() == 0, 53);
    }
    {
      ChildThread t([&] {
        return pl::park(
                   &lot_key, [] { return true; }, [] {}, [](const void*, bool) {}, 0,
                   Clock::now() + kChildPatience)
                   .token == 9;
      });
      CHILD_CHECK(until_parked(&lot_key, 1), 54);
      pl::unpark_one(&lot_key, [](pl::UnparkResult) { return pl::UnparkToken{9}; });
      CHILD_CHECK(t.join(), 55);
    }
  }
};

// A Stage that is busy at every fork: one thread heads (reading a resource that makes it wait),
// others wait inside enter. docs/fork.md: the child must not use it.
struct BusyStage {
  struct Slow {
    AutoResetEvent data;  // never set while the test runs: the head waits on it with a timeout
  };
  Slow slow;
  exitleft::Stage<int, Slow*> stage{&slow};
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};  // threads past their ticket (relaxed: a progress count)
  Threads threads;

  void start() {
    for (int token = 0; token < 3; ++token) {
      threads.spawn([this, token] {
        auto ticket = stage.ticket(token);
        running.fetch_add(1, std::memory_order_relaxed);  // the ticket's allocation is behind it
        while (!stop.load(std::memory_order_relaxed)) {
          (void)stage.enter_for(*ticket, 2ms, [](auto& d) {
            (void)d.resource()->data.wait_for(1ms);
            d.notify((d.token() + 1) % 3);
          });
        }
      });
    }
  }
  void finish() {
    stop.store(true);
    threads.join();
  }
};

TEST(Fork, ChildUsesEveryPrimitiveWhileParentThreadsAreBusyWithThem) {
  Parked parked;
  Hammered hammered;
  BusyStage busy_stage;
  parked.start();
  hammered.start();
  busy_stage.start();
  ASSERT_TRUE(parked.all_parked()) << "the parent's waiters did not all park";
  // The first fork waits until every busy thread is past its start-up, which allocates (the
  // thread's own start, a Stage ticket): clang 14's ASan does not hold its allocator's locks
  // across fork(), so a child forked while a parent thread allocates hangs in its first
  // allocation that needs the same lock (seen in CI under ASan: the child's first new thread,
  // stuck in SizeClassAllocator64::GetFromAllocator during its ASan start-up, "hung in or after
  // CHILD_CHECK 21" at fork 0). From then on the parent's threads allocate nothing.
  ASSERT_TRUE(eventually([&] {
    return hammered.rounds.load(std::memory_order_relaxed) >= 100 &&
           busy_stage.running.load(std::memory_order_relaxed) == 3;
  })) << "the parent's busy threads did not get going";

  std::minstd_rand rng(12345);
  for (int attempt = 0; attempt < kForks; ++attempt) {
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    const bool grandchild = attempt % 10 == 0;
    const int status = fork_and_wait([&] {
      parked.use_in_child();
      hammered.use_in_child();
      use_fresh_primitives(100);
      if (grandchild) {
        // The child's own child: the fork handlers run again, now in a process that forked.
        const int s = fork_and_wait([] { use_fresh_primitives(150); });
        CHILD_CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 0, 60);
      }
    });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "fork " << attempt << ": the child ended with " << describe(status)
        << " (the codes are the numbers in tests/fork_test.cpp's CHILD_CHECKs)";
  }

  busy_stage.finish();
  hammered.finish();
  parked.finish();
}

TEST(Fork, IdleStageWorksInChildButOneBusyAtTheForkDoesNot) {
  // Idle at the fork: a ticket with a pending notification, nobody inside enter().
  exitleft::Stage<int, int> idle(0);
  auto ticket = idle.ticket(1);
  ASSERT_TRUE(ticket.has_value());
  ASSERT_TRUE(idle.notify(1));

  // Headed at the fork: a parent thread runs the head, blocked in it.
  exitleft::Stage<int, int> headed(0);
  ManualResetEvent head_running, release_head;
  std::thread head([&] {
    auto t = headed.ticket(5);
    (void)headed.enter(*t, [&](auto&) {
      head_running.set();
      release_head.wait();
    });
  });
  ASSERT_TRUE(head_running.wait_for(exitleft::test::kPatience));

  // A parent thread inside buffer() at the fork: it holds the stage's buffer lock.
  exitleft::Stage<int, int, int> locked(0);
  ManualResetEvent in_buffer, leave_buffer;
  std::thread holder([&] {
    locked.buffer([&](int&) {
      in_buffer.set();
      leave_buffer.wait();
    });
  });
  ASSERT_TRUE(in_buffer.wait_for(exitleft::test::kPatience));

  const int status = fork_and_wait([&] {
    // The idle stage: the notification was kept; then this thread heads at once.
    CHILD_CHECK(
        idle.enter(*ticket, [](auto&) { return 0; }).kind() == exitleft::Exit<int>::Notified, 70);
    CHILD_CHECK(idle.enter_for(*ticket, 0ms, [](auto&) { return 1; }).kind() ==
                    exitleft::Exit<int>::Finished,
                71);
    // The headed one: the head role belongs to a thread that does not exist here, so a new
    // ticket never heads (docs/fork.md: such a Stage must not be used in the child), and the
    // parent thread's ticket stays registered.
    CHILD_CHECK(!headed.ticket(5).has_value(), 72);
    auto t = headed.ticket(6);
    CHILD_CHECK(t.has_value(), 73);
    CHILD_CHECK(
        headed.enter_for(*t, 50ms, [](auto&) { return 0; }).kind() == exitleft::Exit<int>::TimedOut,
        74);
    // The locked one: its lock is held by a thread that does not exist here, so buffer() (and
    // with it any call that takes that lock) never returns in the child. The stuck thread ends
    // with the process.
    std::atomic<bool> returned{false};
    std::thread stuck([&] {
      locked.buffer([](int&) {});
      returned.store(true);
    });
    stuck.detach();
    std::this_thread::sleep_for(100ms);
    CHILD_CHECK(!returned.load(), 75);
    _exit(0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child ended with " << describe(status);

  release_head.set();
  head.join();
  leave_buffer.set();
  holder.join();
}

#if defined(EXITLEFT_FORK_TEST_SHARED_EVENTS)
TEST(Fork, SharedEventsInPrivateMemoryAreCopiedWithTheirWaitersCount) {
  // Not in shared memory: the child gets its own copy of each event, in which the parent's
  // waiters are still counted. They hold nothing: the copies work across the child's threads.
  exitleft::SharedAutoResetEvent autos;
  exitleft::SharedManualResetEvent manual;
  std::thread a([&] { autos.wait(); });
  std::thread m([&] { manual.wait(); });
  std::this_thread::sleep_for(20ms);  // they are counted, or about to be: either way

  const int status = fork_and_wait([&] {
    CHILD_CHECK(!autos.is_set() && !manual.is_set(), 80);
    ChildThread t1([&] { return autos.wait_for(kChildPatience); });
    ChildThread t2([&] { return manual.wait_for(kChildPatience); });
    std::this_thread::sleep_for(1ms);
    autos.set();
    manual.set();
    CHILD_CHECK(t1.join() && t2.join(), 81);
    CHILD_CHECK(!autos.try_wait() && manual.is_set(), 82);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child ended with " << describe(status);
  EXPECT_FALSE(autos.is_set()) << "the child's set() reached the parent's private copy";

  autos.set();
  manual.set();
  a.join();
  m.join();
}
#endif

}  // namespace
