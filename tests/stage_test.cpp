// Stage against SPEC "Stage" (S1-S8) and the exit-left regressions, on every backend variant.
#include "exitleft/stage.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "exitleft/detail/std_sync.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "src/lot/lot_mutex_impl.hpp"
#include "src/stage/stage_core_impl.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/lot_probe.hpp"
#include "tests/support/threads.hpp"

namespace {

using namespace std::chrono_literals;
using exitleft::test::eventually;
using exitleft::test::kPatience;
using exitleft::test::Threads;
using exitleft::test::until_parked;
using Clock = std::chrono::steady_clock;

// A stand-in for an unconnected socket: datagrams (token, sequence number) that only one thread
// at a time may block on. receive() gives up after `kPatience` so that a lost head fails the
// test instead of hanging it.
struct Datagram {
  int token;
  int seq;
};
class FakeSocket {
 public:
  void send(Datagram d) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(d);
    }
    cv_.notify_one();
  }
  std::optional<Datagram> receive() {
    std::unique_lock lock(mutex_);
    const int readers = ++readers_;
    if (readers > 1) concurrent_readers_ = true;  // S1 violated
    const bool got = cv_.wait_for(lock, kPatience, [&] { return !queue_.empty(); });
    --readers_;
    if (!got) return std::nullopt;
    Datagram d = queue_.front();
    queue_.pop_front();
    return d;
  }
  bool saw_concurrent_readers() {
    std::lock_guard lock(mutex_);
    return concurrent_readers_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Datagram> queue_;
  int readers_ = 0;
  bool concurrent_readers_ = false;
};

using Mailboxes = std::map<int, std::deque<int>>;
using DemuxStage = exitleft::Stage<int, FakeSocket*, Mailboxes>;

// The intended loop (stage.hpp): ticket, look in the buffer, enter, route as head.
// Returns the next sequence number for `me`, or -1 if the socket went quiet.
int receive_own(DemuxStage& stage, DemuxStage::Ticket& ticket, int me,
                std::atomic<int>& heads_running, std::atomic<bool>& overlap) {
  for (;;) {
    const std::optional<int> mine = stage.buffer([&](Mailboxes& m) -> std::optional<int> {
      auto& box = m[me];
      if (box.empty()) return std::nullopt;
      const int seq = box.front();
      box.pop_front();
      return seq;
    });
    if (mine) return *mine;
    auto exit = stage.enter(ticket, [&](DemuxStage::Director& d) -> int {
      if (heads_running.fetch_add(1) != 0) overlap.store(true);
      struct Done {
        std::atomic<int>& n;
        ~Done() { n.fetch_sub(1); }
      } done{heads_running};
      for (;;) {
        const std::optional<Datagram> dg = d.resource()->receive();
        if (!dg) return -1;
        if (dg->token == me) return dg->seq;
        d.buffer([&](Mailboxes& m) { m[dg->token].push_back(dg->seq); });
        d.notify(dg->token);
      }
    });
    if (exit.kind() == decltype(exit)::Finished) return exit.value();
  }
}

TEST(Stage, DemuxDeliversEveryDatagramOnceInOrderWithOneHeadAtATime) {  // S1, S4
  constexpr int kWorkers = 6, kPerWorker = 3000;
  FakeSocket socket;
  DemuxStage stage(&socket);
  std::atomic<int> heads_running{0};
  std::atomic<bool> overlap{false};
  std::vector<int> received(kWorkers, 0);
  std::vector<bool> in_order(kWorkers, true);
  Threads t;
  for (int w = 0; w < kWorkers; ++w) {
    t.spawn([&, w] {
      auto ticket = stage.ticket(w);
      ASSERT_TRUE(ticket);
      for (int expected = 0; expected < kPerWorker; ++expected) {
        const int seq = receive_own(stage, *ticket, w, heads_running, overlap);
        if (seq < 0) return;
        if (seq != expected) in_order[w] = false;
        ++received[w];
      }
    });
  }
  std::minstd_rand rng(42);
  std::vector<int> next(kWorkers, 0);
  for (int sent = 0; sent < kWorkers * kPerWorker;) {
    const int w = static_cast<int>(rng() % kWorkers);
    if (next[w] == kPerWorker) continue;
    socket.send({w, next[w]++});
    ++sent;
  }
  t.join();
  EXPECT_FALSE(overlap.load()) << "two heads ran at once";
  EXPECT_FALSE(socket.saw_concurrent_readers());
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(received[w], kPerWorker) << "worker " << w;
    EXPECT_TRUE(in_order[w]) << "worker " << w;
  }
}

TEST(Stage, IdleStageMakesTheCallerHeadAtOnce) {  // S3
  exitleft::Stage<int, int> stage(7);
  auto ticket = stage.ticket(1);
  ASSERT_TRUE(ticket);
  auto e = stage.enter_for(*ticket, 0ms, [](auto& d) { return d.resource() * 6; });
  ASSERT_EQ(e.kind(), decltype(e)::Finished);
  EXPECT_EQ(e.value(), 42);
  auto v = stage.enter(*ticket, [](auto&) {});
  EXPECT_EQ(v.kind(), decltype(v)::Finished);
}

TEST(Stage, NotifyBeforeEnterIsKeptAsOneFlag) {  // S2
  exitleft::Stage<int, int> stage(0);
  auto ticket = stage.ticket(1);
  EXPECT_TRUE(stage.notify(1));
  EXPECT_TRUE(stage.notify(1));
  EXPECT_TRUE(stage.notify(1));
  bool headed = false;
  auto e = stage.enter(*ticket, [&](auto&) { headed = true; });
  EXPECT_EQ(e.kind(), decltype(e)::Notified) << "S2 comes before S3";
  EXPECT_FALSE(headed);
  auto e2 = stage.enter(*ticket, [&](auto&) { headed = true; });
  EXPECT_EQ(e2.kind(), decltype(e2)::Finished) << "several notifies give one Notified";
  EXPECT_TRUE(headed);
  EXPECT_FALSE(stage.notify(2)) << "no live ticket has token 2";
}

TEST(Stage, HeadMayNotifyItsOwnToken) {  // S2; exit-left panics here
  exitleft::Stage<std::string, int> stage(0);
  auto ticket = stage.ticket("me");
  auto e = stage.enter(*ticket, [](auto& d) { return d.notify(d.token()); });
  ASSERT_EQ(e.kind(), decltype(e)::Finished);
  EXPECT_TRUE(e.value());
  auto next = stage.enter(*ticket, [](auto&) { return false; });
  EXPECT_EQ(next.kind(), decltype(next)::Notified) << "kept for the head's next enter";
}

// A head that blocks until the test lets it go.
struct Gate {
  void open() { event.set(); }
  void pass() { ASSERT_TRUE(event.wait_for(kPatience)); }
  exitleft::ManualResetEvent event;
};

TEST(Stage, NotifyWakesAWaiterWhileAnotherThreadHeads) {
  exitleft::Stage<int, int> stage(0);
  auto head_ticket = stage.ticket(0);
  auto waiter_ticket = stage.ticket(1);
  Gate gate;
  std::atomic<bool> heading{false};
  Threads t;
  t.spawn([&] {
    stage.enter(*head_ticket, [&](auto&) {
      heading.store(true);
      gate.pass();
    });
  });
  ASSERT_TRUE(eventually([&] { return heading.load(); }));
  std::atomic<int> kind{-1};
  t.spawn([&] { kind.store(stage.enter(*waiter_ticket, [](auto&) {}).kind()); });
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(kind.load(), -1) << "a waiter sleeps while another thread heads";
  EXPECT_TRUE(stage.notify(1));
  ASSERT_TRUE(eventually([&] { return kind.load() != -1; }));
  EXPECT_EQ(kind.load(), exitleft::Exit<void>::Notified);
  gate.open();
}

TEST(Stage, EnterTimesOutWhileAnotherThreadHeads) {
  exitleft::Stage<int, int> stage(0);
  auto a = stage.ticket(0);
  auto b = stage.ticket(1);
  Gate gate;
  std::atomic<bool> heading{false};
  Threads t;
  t.spawn([&] {
    stage.enter(*a, [&](auto&) {
      heading.store(true);
      gate.pass();
    });
  });
  ASSERT_TRUE(eventually([&] { return heading.load(); }));
  auto start = Clock::now();
  EXPECT_EQ(stage.enter_for(*b, 20ms, [](auto&) {}).kind(), exitleft::Exit<void>::TimedOut);
  EXPECT_GE(Clock::now() - start, 20ms);
  EXPECT_EQ(stage.enter_for(*b, 0ms, [](auto&) {}).kind(), exitleft::Exit<void>::TimedOut);
  start = Clock::now();
  EXPECT_EQ(stage.enter_until(*b, std::chrono::system_clock::now() + 15ms, [](auto&) {}).kind(),
            exitleft::Exit<void>::TimedOut);
  EXPECT_GE(Clock::now() - start, 14ms);
  gate.open();
  t.join();
  // The head left: the stage is idle again, and a huge timeout never overflows.
  EXPECT_EQ(stage.enter_for(*b, std::chrono::nanoseconds::max(), [](auto&) {}).kind(),
            exitleft::Exit<void>::Finished);
  EXPECT_EQ(
      stage.enter_until(*b, std::chrono::system_clock::time_point::max(), [](auto&) {}).kind(),
      exitleft::Exit<void>::Finished);
}

// ---- the hand-off core directly (seats are visible, so the queue order can be set up) ----

using Core = exitleft::detail::BasicStageCore<exitleft::detail::StdSync>;
using Seat = Core::Seat;

TEST(StageCore, PromotionIsFifo) {  // S4; exit-left picks a random waiter
  constexpr int kWaiters = 5;
  Core core;
  Seat head_seat;
  ASSERT_EQ(core.enter(head_seat, exitleft::detail::kNoDeadline), Core::Entry::Head);
  std::vector<std::unique_ptr<Seat>> seats;
  std::vector<int> order;
  Threads t;
  for (int i = 0; i < kWaiters; ++i) {
    seats.push_back(std::make_unique<Seat>());
    Seat& s = *seats.back();
    t.spawn([&, i] {
      if (core.enter(s, exitleft::detail::kNoDeadline) == Core::Entry::Head) {
        order.push_back(i);  // heads run one at a time
        core.leave();
      }
    });
    ASSERT_TRUE(until_parked(&s, 1));  // queued (and asleep) in this order
  }
  core.leave();
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(core.headed());
}

// StdSync, except that a park that times out returns 2 ms late: the window between a waiter's
// timeout and its leaving the queue, nanoseconds wide in real runs, becomes wide enough for a
// test to promote the waiter inside it every time.
struct SlowTimeoutSync : exitleft::detail::StdSync {
  template <class... Args>
  static exitleft::parking_lot::ParkResult park(Args&&... args) noexcept {
    const auto r = StdSync::park(std::forward<Args>(args)...);
    if (r.kind == exitleft::parking_lot::ParkResult::Kind::TimedOut) {
      std::this_thread::sleep_for(2ms);
    }
    return r;
  }
};

TEST(StageCore, PromotionIsNeverLostWhenThePromotedWaiterTimesOut) {
  // exit-left stalls forever in 91 of 200 runs of this race: the head promotes a waiter that is
  // timing out at that moment, the waiter leaves without heading, and nobody heads again. Here
  // the head leaves while the first waiter is inside its timeout; an untimed waiter queued
  // behind it must always get the role.
  using SlowCore = exitleft::detail::BasicStageCore<SlowTimeoutSync>;
  using SlowSeat = SlowCore::Seat;
  // Runs until 50 of them set the race up (both waiters queued before the deadline); a loaded
  // machine (Wine, a parallel build) misses the set-up more often and needs more runs.
  constexpr int kRaced = 50, kMaxRuns = 400;
  int raced = 0;
  for (int run = 0; run < kMaxRuns && raced < kRaced; ++run) {
    SlowCore core;
    SlowSeat head_seat, timed, patient;
    ASSERT_EQ(core.enter(head_seat, exitleft::detail::kNoDeadline), SlowCore::Entry::Head);
    std::atomic<int> patient_result{-1}, timed_result{-1};
    Threads t;
    const auto deadline = Clock::now() + 10ms;
    t.spawn([&] {
      const auto r = core.enter(timed, deadline);
      timed_result.store(static_cast<int>(r));
      if (r == SlowCore::Entry::Head) core.leave();  // got the role in time: heads, then leaves
    });
    t.spawn([&] {
      // Queue behind the timed waiter (it spins briefly before it parks).
      ASSERT_TRUE(eventually(
          [&] { return exitleft::test::parked_on(&timed) == 1 || timed_result.load() != -1; }));
      const auto r = core.enter(patient, Clock::now() + kPatience);
      patient_result.store(static_cast<int>(r));
      if (r == SlowCore::Entry::Head) core.leave();
    });
    ASSERT_TRUE(eventually([&] { return exitleft::test::parked_on(&patient) == 1; }));
    if (Clock::now() < deadline) ++raced;  // both queued in order before the deadline
    // The timed waiter wakes at its deadline (plus the OS's timer slack) and then sits in the
    // injected 2 ms before it leaves the queue: promote it in there.
    std::this_thread::sleep_until(deadline + 500us + std::chrono::microseconds(run % 10 * 100));
    core.leave();
    t.join();
    ASSERT_EQ(patient_result.load(), static_cast<int>(SlowCore::Entry::Head))
        << "run " << run << ": the role was lost (the timed waiter ended with "
        << timed_result.load() << ")";
    EXPECT_FALSE(core.headed()) << "run " << run;
  }
  EXPECT_EQ(raced, kRaced) << "too few of " << kMaxRuns << " runs set the race up";
}

// StdSync with a seam inside one read-modify-write: the first fetch_or on `target` runs
// `interpose` just before it takes effect. The stage core's park validation used to load the
// seat's state and then fetch_or PARKED separately; a notify or a promotion between the two saw
// no PARKED (no wake-up) while the waiter went to sleep anyway: a lost wake-up that the Relacy
// model (tests/model/stage_model.cpp) found. Running them at exactly that point makes the race
// deterministic; counting the parks that time out shows whether the waiter slept through it.
struct InterposingSync : exitleft::detail::StdSync {
  template <class T>
  struct Atomic : std::atomic<T> {
    using std::atomic<T>::atomic;
    T fetch_or(T bits, std::memory_order order) noexcept {
      if (target.load() == this) {
        target.store(nullptr);  // once; the interposed call may fetch_or this word itself
        interpose();
      }
      return std::atomic<T>::fetch_or(bits, order);
    }
  };
  template <class... Args>
  static exitleft::parking_lot::ParkResult park(Args&&... args) noexcept {
    const auto r = StdSync::park(std::forward<Args>(args)...);
    if (r.kind == exitleft::parking_lot::ParkResult::Kind::TimedOut) timed_out_parks.fetch_add(1);
    return r;
  }
  static inline std::atomic<const void*> target{nullptr};
  static inline std::function<void()> interpose;
  static inline std::atomic<int> timed_out_parks{0};
};

TEST(StageCore, NotifyOrPromotionInsideTheParkValidationIsNeverLost) {
  using ICore = exitleft::detail::BasicStageCore<InterposingSync, false>;
  using ISeat = ICore::Seat;
  for (const bool promote : {false, true}) {
    SCOPED_TRACE(promote ? "promotion" : "notify");
    ICore core;
    ISeat head_seat, waiter;
    ASSERT_EQ(core.enter(head_seat, exitleft::detail::kNoDeadline), ICore::Entry::Head);
    InterposingSync::timed_out_parks.store(0);
    // Without spinning (Spin = false) the waiter's first fetch_or on its seat is the one in the
    // park validation, under the lot's bucket lock. Neither notify() nor leave() parks there:
    // notify() only sets the flag (nobody is PARKED yet), leave()'s core lock is uncontended.
    InterposingSync::interpose = [&] {
      if (promote) {
        core.leave();
      } else {
        EXPECT_FALSE(ICore::notify(waiter));  // PARKED not set: no wake-up is due
      }
    };
    InterposingSync::target.store(&waiter.state);
    const auto r = core.enter(waiter, Clock::now() + 1s);
    EXPECT_EQ(InterposingSync::target.load(), nullptr) << "the seam was never reached";
    EXPECT_EQ(InterposingSync::timed_out_parks.load(), 0) << "the waiter slept through it";
    EXPECT_EQ(r, promote ? ICore::Entry::Head : ICore::Entry::Notified);
    if (r == ICore::Entry::Head) core.leave();
    if (!promote) core.leave();
    EXPECT_FALSE(core.headed());
  }
}

TEST(StageCore, PromotionIsNeverLostWhenThePromotedWaiterIsNotified) {
  for (int run = 0; run < 400; ++run) {
    Core core;
    Seat head_seat, notified, patient;
    ASSERT_EQ(core.enter(head_seat, exitleft::detail::kNoDeadline), Core::Entry::Head);
    std::atomic<int> patient_result{-1}, notified_result{-1};
    Threads t;
    t.spawn([&] {
      const auto r = core.enter(notified, Clock::now() + kPatience);
      notified_result.store(static_cast<int>(r));
      // Promoted before the notification landed: it heads (the notification stays pending, S2).
      if (r == Core::Entry::Head) core.leave();
    });
    ASSERT_TRUE(eventually([&] { return exitleft::test::parked_on(&notified) == 1; }));
    t.spawn([&] {
      const auto r = core.enter(patient, Clock::now() + kPatience);
      patient_result.store(static_cast<int>(r));
      if (r == Core::Entry::Head) core.leave();
    });
    ASSERT_TRUE(eventually([&] { return exitleft::test::parked_on(&patient) == 1; }));
    // Notify and promote at the same moment, from two threads.
    std::atomic<bool> go{false};
    t.spawn([&] {
      while (!go.load()) {
      }
      if (Core::notify(notified)) Core::wake(&notified);
    });
    go.store(true);
    for (int i = 0; i < run % 50; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    core.leave();
    t.join();
    ASSERT_NE(notified_result.load(), static_cast<int>(Core::Entry::TimedOut)) << "run " << run;
    ASSERT_EQ(patient_result.load(), static_cast<int>(Core::Entry::Head)) << "run " << run;
    EXPECT_FALSE(core.headed());
  }
}

TEST(Stage, ManyWaitersWithTimeoutsAndNotifiesNeverStrandAHead) {  // S4 stress
  // Threads enter with random short deadlines while another notifies them at random. Meanwhile
  // a sentinel keeps entering with a long deadline: it must always get in (head, or be
  // notified), i.e. the role is never lost; at the end the stage must be idle.
  constexpr int kThreads = 5, kRounds = 2000;
  exitleft::Stage<int, int> stage(0);
  std::atomic<bool> stop{false};
  std::atomic<int> workers_left{kThreads};
  Threads t;
  for (int i = 0; i < kThreads; ++i) {
    t.spawn([&, i] {
      auto ticket = stage.ticket(i);
      std::minstd_rand rng(static_cast<unsigned>(i) + 1);
      for (int r = 0; r < kRounds; ++r) {
        stage.enter_for(*ticket, std::chrono::microseconds(rng() % 200), [&](auto&) {
          for (auto k = rng() % 200; k > 0; --k)
            std::atomic_signal_fence(std::memory_order_seq_cst);
        });
      }
      workers_left.fetch_sub(1);
    });
  }
  t.spawn([&] {
    std::minstd_rand rng(99);
    while (!stop.load()) {
      stage.notify(static_cast<int>(rng() % kThreads));
      std::this_thread::yield();
    }
  });
  auto sentinel = stage.ticket(100);
  while (workers_left.load() > 0) {
    const auto e = stage.enter_for(*sentinel, kPatience, [](auto&) {});
    ASSERT_NE(e.kind(), decltype(e)::TimedOut) << "no head ever came back: the role was lost";
    std::this_thread::sleep_for(1ms);
  }
  stop.store(true);
  t.join();
  EXPECT_EQ(stage.enter_for(*sentinel, 0ms, [](auto&) {}).kind(), exitleft::Exit<void>::Finished)
      << "the stage must end idle";
}

TEST(Stage, HeadThatThrowsPassesTheRoleOnAndTheExceptionReachesItsCaller) {  // S5
  exitleft::Stage<int, int> stage(0);
  auto thrower = stage.ticket(0);
  auto waiter = stage.ticket(1);
  Gate gate;
  std::atomic<bool> heading{false}, waiter_headed{false};
  Threads t;
  std::atomic<bool> caught{false};
  t.spawn([&] {
    try {
      stage.enter(*thrower, [&](auto&) -> int {
        heading.store(true);
        gate.pass();
        throw std::runtime_error("socket broke");
      });
    } catch (const std::runtime_error& e) {
      caught.store(std::string(e.what()) == "socket broke");
    }
  });
  ASSERT_TRUE(eventually([&] { return heading.load(); }));
  t.spawn([&] {
    auto e = stage.enter(*waiter, [&](auto&) { waiter_headed.store(true); });
    EXPECT_EQ(e.kind(), decltype(e)::Finished);
  });
  std::this_thread::sleep_for(10ms);
  gate.open();
  t.join();
  EXPECT_TRUE(caught.load()) << "the head's exception must reach its caller";
  EXPECT_TRUE(waiter_headed.load()) << "the role passed on to the waiter";
  auto after = stage.enter_for(*thrower, 0ms, [](auto&) { return 1; });
  EXPECT_EQ(after.kind(), decltype(after)::Finished) << "the stage is idle, not stuck";
}

TEST(Stage, ExitValueWithoutHeadingThrows) {
  exitleft::Stage<int, int> stage(0);
  auto ticket = stage.ticket(1);
  stage.notify(1);
  auto e = stage.enter(*ticket, [](auto&) { return 5; });
  ASSERT_EQ(e.kind(), decltype(e)::Notified);
  EXPECT_THROW(e.value(), std::logic_error);
}

// ---- tickets and the token table ----

TEST(Stage, OneLiveTicketPerToken) {
  exitleft::Stage<int, int> stage(0);
  auto a = stage.ticket(5);
  ASSERT_TRUE(a);
  EXPECT_FALSE(stage.ticket(5)) << "an equal token is already registered";
  EXPECT_EQ(a->token(), 5);
  auto moved = std::move(*a);
  EXPECT_FALSE(stage.ticket(5)) << "moving a ticket keeps the registration";
  { auto gone = std::move(moved); }
  EXPECT_TRUE(stage.ticket(5)) << "destroying the ticket unregisters the token";
}

struct CollidingHash {
  std::size_t operator()(int) const { return 12345; }
};

TEST(Stage, NotifyAimedAtADestroyedTicketNeverReachesALaterOne) {  // S6; exit-left's token reuse
  exitleft::Stage<int, int, std::monostate, CollidingHash> stage(0);
  {
    auto old_ticket = stage.ticket(7);
    EXPECT_TRUE(stage.notify(7));  // pending on the old ticket when it dies
  }
  auto later = stage.ticket(7);
  ASSERT_TRUE(later);
  auto e = stage.enter(*later, [](auto&) {});
  EXPECT_EQ(e.kind(), decltype(e)::Finished) << "the old ticket's notification leaked";
  // Colliding tokens share a chain; unregistering one never unregisters another.
  auto a = stage.ticket(1);
  auto b = stage.ticket(2);
  auto c = stage.ticket(3);
  { auto drop = std::move(*b); }
  EXPECT_TRUE(stage.notify(1));
  EXPECT_TRUE(stage.notify(3));
  EXPECT_FALSE(stage.notify(2));
  EXPECT_FALSE(stage.ticket(1));
  EXPECT_FALSE(stage.ticket(3));
}

TEST(Stage, TokenReuseUnderConcurrentNotifiesKeepsRegistrationsConsistent) {  // S6 stress
  exitleft::Stage<int, int> stage(0);
  std::atomic<bool> stop{false};
  std::atomic<int> late_notifications{0};
  Threads t;
  t.spawn([&] {
    while (!stop.load()) stage.notify(1);
  });
  for (int i = 0; i < 20'000; ++i) {
    auto ticket = stage.ticket(1);
    ASSERT_TRUE(ticket) << "a destroyed ticket's registration lingered";
    if (i % 100 == 0) {
      // A notify that happens now reaches this ticket (it is the live one).
      stage.notify(1);
      auto e = stage.enter(*ticket, [](auto&) {});
      EXPECT_EQ(e.kind(), decltype(e)::Notified);
      late_notifications.fetch_add(1);
    }
  }
  stop.store(true);
  t.join();
  EXPECT_TRUE(stage.ticket(1));
}

TEST(Stage, TableGrowsToManyTickets) {
  exitleft::Stage<int, int> stage(0);
  std::vector<exitleft::Stage<int, int>::Ticket> tickets;
  for (int i = 0; i < 10'000; ++i) {
    auto t = stage.ticket(i);
    ASSERT_TRUE(t);
    tickets.push_back(std::move(*t));
  }
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(stage.notify(i)) << i;
  EXPECT_FALSE(stage.notify(10'000));
  for (int i = 0; i < 10'000; i += 997) {
    auto e = stage.enter(tickets[static_cast<std::size_t>(i)], [](auto&) {});
    EXPECT_EQ(e.kind(), decltype(e)::Notified);
  }
  tickets.clear();
}

TEST(Stage, NotifyAndEnterAllocateNothing) {  // S7
  exitleft::Stage<int, int> stage(0);
  auto a = stage.ticket(1);
  auto b = stage.ticket(2);
  Gate gate;
  std::atomic<bool> heading{false};
  Threads t;
  t.spawn([&] {
    stage.enter(*a, [&](auto&) {
      heading.store(true);
      gate.pass();
    });
  });
  ASSERT_TRUE(eventually([&] { return heading.load(); }));
  // The head thread's first park allocates its per-thread lot data: count only once it sleeps
  // (the counter sees every thread's allocations).
  ASSERT_TRUE(until_parked(&gate.event, 1));
  exitleft::test::AllocationCounter allocations;
  for (int i = 0; i < 1000; ++i) {
    stage.notify(2);
    stage.notify(2);
    auto e = stage.enter(*b, [](auto&) {});
    EXPECT_EQ(e.kind(), decltype(e)::Notified);
  }
  EXPECT_EQ(allocations.count(), 0u);
  gate.open();
}

#ifndef NDEBUG
TEST(StageDeathTest, DestroyingAStageWithLiveTicketsAsserts) {  // S8
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto destroy_with_live_ticket = [] {
    auto stage = std::make_unique<exitleft::Stage<int, int>>(0);
    auto ticket = stage->ticket(1);
    stage.reset();
  };
  EXPECT_DEATH(destroy_with_live_ticket(), "tickets are alive");
}
#endif

}  // namespace
