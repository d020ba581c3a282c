// exitleft-soak: Semaphore (a pool of units and a producer/consumer flow) and CountdownEvent
// rounds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/semaphore.hpp"
#include "tools/soak/async_wait.hpp"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

// Two semaphores. The pool holds kPoolUnits units that threads borrow and give back: more
// holders than units, or a give-back refused because the count would pass its maximum, is a
// duplicated unit. The flow has producers (release(n), refused when full) and consumers (timed
// acquires): units released = units acquired + units left, at the end.
class SemaphoreScenario final : public Scenario {
 public:
  SemaphoreScenario(const Options& o, Failures& f) : Scenario("semaphore", o, f) {}

  void start() override {
    const unsigned n = options().threads;
    for (unsigned i = 0; i < std::max(2u, n); ++i) {
      spawn("pool user " + std::to_string(i), [this](Worker& w) { borrow(w); });
    }
    for (unsigned i = 0; i < std::max(1u, n / 2); ++i) {
      spawn("flow producer " + std::to_string(i), [this](Worker& w) { produce(w); });
    }
    for (unsigned i = 0; i < std::max(1u, n - n / 2); ++i) {
      spawn("flow consumer " + std::to_string(i), [this](Worker& w) { consume(w); });
    }
  }

  void verify() override {
    if (pool_.count() != kPoolUnits) {
      fail(format("the pool holds %u units at the end, expected %u", pool_.count(), kPoolUnits));
    }
    std::uint64_t left = 0;
    while (flow_.try_acquire()) ++left;
    left_ = left;
    if (flow_.release(kFlowMax + 1)) fail("release(max + 1) on an empty semaphore succeeded");
    if (flow_.count() != 0) fail("a refused release() changed the count");
    const std::uint64_t released = released_.load(), consumed = consumed_.load();
    if (released != consumed + left) {
      fail(format("released %llu units, consumed %llu, %llu left: %lld units %s", ull(released),
                  ull(consumed), ull(left),
                  static_cast<long long>(released) - static_cast<long long>(consumed + left),
                  released > consumed + left ? "lost" : "too many (duplicated)"));
    }
  }

  std::string summary() const override {
    return format(
        "pool: %llu borrows of %u units (at most %d held at once), %llu timed out; "
        "flow: %llu units released, %llu consumed, %llu left, %llu releases refused "
        "(full), %llu acquires timed out",
        ull(borrowed_.load()), kPoolUnits, max_in_use_.load(), ull(pool_timeouts_.load()),
        ull(released_.load()), ull(consumed_.load()), ull(left_), ull(refused_.load()),
        ull(flow_timeouts_.load()));
  }
  std::uint64_t headline() const override {
    return borrowed_.load(std::memory_order_relaxed) + consumed_.load(std::memory_order_relaxed);
  }
  std::string describe() const override {
    return format("pool count %u, held %d; flow count %u", pool_.count(), in_use_.load(),
                  flow_.count());
  }

 private:
  static constexpr std::uint32_t kPoolUnits = 2;
  static constexpr std::uint32_t kFlowMax = 16;

  void borrow(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      bool got = false;
      switch (rng.below(4)) {
        case 0:
          w.at("Semaphore::acquire (pool)");
          pool_.acquire();  // every borrowed unit comes back within moments
          got = true;
          break;
        case 1:
          w.at("Semaphore::try_acquire_for (pool)");
          got = pool_.try_acquire_for(rng.timeout());
          break;
        case 2:
          w.at("Semaphore::try_acquire_until (pool)");
          got = pool_.try_acquire_until(Clock::now() + rng.timeout());
          break;
        default:
          w.at("Semaphore::try_acquire (pool)");
          got = pool_.try_acquire();
          break;
      }
      if (!got) {
        pool_timeouts_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const int held = in_use_.fetch_add(1, std::memory_order_relaxed) + 1;
      int seen = max_in_use_.load(std::memory_order_relaxed);
      while (held > seen && !max_in_use_.compare_exchange_weak(seen, held)) {
      }
      if (held > static_cast<int>(kPoolUnits)) {
        fail(
            format("%d threads hold a unit of a %u-unit pool (duplicated unit)", held, kPoolUnits));
      }
      if (rng.one_in(8)) std::this_thread::yield();
      in_use_.fetch_sub(1, std::memory_order_relaxed);
      w.at("Semaphore::release (pool)");
      if (!pool_.release(1)) {
        fail(
            "giving a borrowed unit back was refused: the count would pass its maximum "
            "(duplicated unit)");
      }
      borrowed_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void produce(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      const std::uint32_t n = 1 + rng.below(3);
      w.at("Semaphore::release (flow)");
      if (flow_.release(n)) {
        released_.fetch_add(n, std::memory_order_relaxed);
      } else {
        refused_.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
    }
  }

  void consume(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      bool got = false;
      switch (rng.below(4)) {
        case 0:
          w.at("Semaphore::try_acquire_for (flow)");
          got = flow_.try_acquire_for(rng.timeout());
          break;
        case 2:
          if (!kCoroutineWaits) continue;
          w.at("co_await async_acquire (flow), stop at the timeout");
          got = coroutine_wait_for(
              [&](std::stop_token stop) { return exitleft::async_acquire(flow_, std::move(stop)); },
              rng.timeout());
          break;
        case 1:
          w.at("Semaphore::try_acquire_until system_clock (flow)");
          got = flow_.try_acquire_until(std::chrono::system_clock::now() + rng.timeout());
          break;
        default:
          w.at("Semaphore::try_acquire (flow)");
          got = flow_.try_acquire();
          break;
      }
      if (!got) {
        flow_timeouts_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (options().inject == Inject::Lose && !injected_.exchange(true)) {
        // takes a unit and does not book it
        continue;
      }
      consumed_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  Semaphore pool_{kPoolUnits, kPoolUnits};
  Semaphore flow_{0, kFlowMax};
  std::atomic<int> in_use_{0}, max_in_use_{0};
  std::atomic<std::uint64_t> borrowed_{0}, pool_timeouts_{0};
  std::atomic<std::uint64_t> released_{0}, refused_{0}, consumed_{0}, flow_timeouts_{0};
  std::uint64_t left_ = 0;
  std::atomic<bool> injected_{false};
};

// Rounds of a latch. The coordinator resets the latch to K and starts a round by setting each
// participant's own AutoResetEvent. Each of the K workers decrements once (sometimes after an
// increment, which must not let the count reach 0 early), then waits for 0; an observer only
// waits (untimed). Exactly one decrement per round reports reaching 0, every waiter is released
// with the count at 0, and a CountdownEvent `finished` tells the coordinator the round is over.
class CountdownScenario final : public Scenario {
 public:
  CountdownScenario(const Options& o, Failures& f) : Scenario("countdown", o, f) {}

  void start() override {
    decrementers_ = std::max(2u, options().threads);
    for (unsigned i = 0; i < decrementers_ + kObservers; ++i) {
      go_.push_back(std::make_unique<AutoResetEvent>());
    }
    spawn("coordinator", [this](Worker& w) { coordinate(w); });
    for (unsigned i = 0; i < decrementers_; ++i) {
      spawn("worker " + std::to_string(i) + kModeNames[i % 3],
            [this, i](Worker& w) { participate(w, i, true); });
    }
    for (unsigned i = 0; i < kObservers; ++i) {
      spawn("observer (untimed)",
            [this, i](Worker& w) { participate(w, decrementers_ + i, false); });
    }
  }

  void verify() override {
    if (released_.load() != rounds_.load() * (decrementers_ + kObservers)) {
      fail(format("%llu rounds with %u waiters each, but %llu releases", ull(rounds_.load()),
                  decrementers_ + kObservers, ull(released_.load())));
    }
  }

  std::string summary() const override {
    return format(
        "%llu rounds of %u decrements (exactly one reached 0 each time), %llu waiter "
        "releases, %llu increments, %llu waits timed out and retried",
        ull(rounds_.load()), decrementers_, ull(released_.load()), ull(increments_.load()),
        ull(timeouts_.load()));
  }
  std::uint64_t headline() const override { return released_.load(std::memory_order_relaxed); }
  std::string describe() const override {
    return format("round %llu, latch count %zu, round not finished by %zu participants",
                  ull(rounds_.load()), latch_.count(), finished_.count());
  }

 private:
  static constexpr unsigned kObservers = 1;
  static constexpr const char* kModeNames[3] = {" (untimed)", " (wait_for)",
                                                " (wait_until system_clock)"};

  void coordinate(Worker& w) {
    const unsigned everyone = decrementers_ + kObservers;
    while (!stopping()) {
      w.at("CountdownEvent::reset (new round)");
      latch_.reset(decrementers_);
      if (latch_.try_wait()) fail("try_wait() is true right after reset(K > 0)");
      reached_.store(0, std::memory_order_relaxed);
      finished_.reset(everyone);
      w.at("AutoResetEvent::set (start the round)");
      for (auto& go : go_) go->set();
      w.at("CountdownEvent::wait (round finished)");
      finished_.wait();
      // acquire (by finished_.wait()): every participant's booking happened before.
      const std::uint64_t reached = reached_.load(std::memory_order_relaxed);
      if (reached != 1) {
        fail(format("round %llu: %llu decrements reported reaching 0, expected exactly 1",
                    ull(rounds_.load() + 1), ull(reached)));
      }
      try {
        latch_.decrement();
        fail("decrement() at 0 did not throw");
      } catch (const std::logic_error&) {
      }
      if (latch_.count() != 0) fail("a decrement() that threw at 0 changed the count");
      rounds_.fetch_add(1, std::memory_order_relaxed);
      w.tick();
    }
    done_.store(true, std::memory_order_release);  // release: pairs with the participants' load
  }

  void participate(Worker& w, unsigned index, bool decrements) {
    Rng& rng = w.rng();
    const unsigned mode = decrements ? index % 3 : 0;
    for (;;) {
      w.at("AutoResetEvent::wait_for (waiting for a round)");
      if (!go_[index]->wait_for(std::chrono::milliseconds(5))) {
        // acquire: the coordinator stores done_ only once no round is running.
        if (done_.load(std::memory_order_acquire)) return;
        continue;
      }
      if (decrements) {
        if (rng.one_in(3)) {
          w.at("CountdownEvent::increment");
          latch_.increment();
          increments_.fetch_add(1, std::memory_order_relaxed);
          if (latch_.decrement()) fail("a decrement after an increment reached 0 too early");
        }
        w.at("CountdownEvent::decrement");
        if (latch_.decrement()) reached_.fetch_add(1, std::memory_order_relaxed);
      }
      w.at("CountdownEvent::wait (for 0)");
      if (mode == 0) {
        latch_.wait();
      } else {
        for (;;) {
          const bool got =
              mode == 1 ? latch_.wait_for(rng.timeout(3000))
                        : latch_.wait_until(std::chrono::system_clock::now() + rng.timeout(3000));
          if (got) break;
          timeouts_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      // The next reset waits for this participant's `finished` decrement: the count stays 0.
      if (latch_.count() != 0 || !latch_.try_wait()) {
        fail(format("a waiter was released while the count is %zu", latch_.count()));
      }
      released_.fetch_add(1, std::memory_order_relaxed);
      w.at("CountdownEvent::decrement (round finished)");
      finished_.decrement();
      w.tick();
    }
  }

  unsigned decrementers_ = 0;
  std::vector<std::unique_ptr<AutoResetEvent>> go_;
  CountdownEvent latch_{0};
  CountdownEvent finished_{0};
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> reached_{0}, rounds_{0}, released_{0}, increments_{0}, timeouts_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_semaphore(const Options& o, Failures& f) {
  return std::make_unique<SemaphoreScenario>(o, f);
}
std::unique_ptr<Scenario> make_countdown(const Options& o, Failures& f) {
  return std::make_unique<CountdownScenario>(o, f);
}

}  // namespace exitleft::soak
