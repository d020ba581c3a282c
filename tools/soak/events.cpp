// exitleft-soak: AutoResetEvent hand-offs and ManualResetEvent generations.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "tools/soak/async_wait.hpp"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

// Producers set an event only after claiming its slot with a fresh id (at most one signal in
// flight per event, since an event is a boolean); a consumer whose wait returns true takes the
// id back. A wait that returns true with no id in flight is a duplicate; an id that stays in
// flight while the event is unset is a lost signal.
class AutoResetScenario final : public Scenario {
 public:
  AutoResetScenario(const Options& o, Failures& f) : Scenario("auto-reset", o, f) {}

  void start() override {
    const unsigned producers = std::max(1u, options().threads / 2);
    const unsigned consumers = std::max(1u, options().threads - options().threads / 2);
    for (unsigned i = 0; i < producers; ++i) {
      spawn("producer " + std::to_string(i), [this](Worker& w) { produce(w); });
    }
    for (unsigned i = 0; i < consumers; ++i) {
      spawn("consumer " + std::to_string(i), [this](Worker& w) { consume(w); });
    }
  }

  void verify() override {
    for (unsigned i = 0; i < kSlots; ++i) {
      Slot& s = slots_[i];
      const std::uint64_t id = s.in_flight.load(std::memory_order_acquire);
      const bool set = s.event.try_wait();
      if (id != 0 && !set) {
        fail(format("signal %llu was set on event %u and never consumed (lost)", ull(id), i));
      } else if (id == 0 && set) {
        fail(format("event %u is set with no signal in flight (duplicate)", i));
      } else if (id != 0) {
        left_set_.fetch_add(1);
        consumed_.fetch_add(1);
        consumed_sum_.fetch_add(id);
      }
    }
    if (produced_.load() != consumed_.load() || produced_sum_.load() != consumed_sum_.load()) {
      fail(format("set %llu signals (id sum %llu) but consumed %llu (id sum %llu)",
                  ull(produced_.load()), ull(produced_sum_.load()), ull(consumed_.load()),
                  ull(consumed_sum_.load())));
    }
  }

  std::string summary() const override {
    return format(
        "set %llu, consumed %llu exactly once (%llu still set at the end), %llu waits "
        "timed out",
        ull(produced_.load()), ull(consumed_.load()), ull(left_set_.load()), ull(timeouts_.load()));
  }
  std::uint64_t headline() const override { return consumed_.load(std::memory_order_relaxed); }
  std::string describe() const override {
    std::string out;
    for (unsigned i = 0; i < kSlots; ++i) {
      out += format("event %u: in flight id %llu, is_set %d; ", i, ull(slots_[i].in_flight.load()),
                    int(slots_[i].event.is_set()));
    }
    return out;
  }

 private:
  static constexpr unsigned kSlots = 4;
  struct alignas(64) Slot {
    AutoResetEvent event;
    std::atomic<std::uint64_t> in_flight{0};  // the id of the signal set and not yet taken
  };

  void produce(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      Slot& s = slots_[rng.below(kSlots)];
      w.at("claiming a slot");
      // acquire: pairs with the acq_rel exchange of the consumer that took the last signal.
      if (s.in_flight.load(std::memory_order_acquire) != 0) {
        if (rng.one_in(4)) std::this_thread::yield();
        continue;
      }
      const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t expected = 0;
      // acq_rel: the id is published by set()'s release, which the consumer's wait acquires.
      if (!s.in_flight.compare_exchange_strong(expected, id, std::memory_order_acq_rel)) continue;
      w.at("AutoResetEvent::set");
      s.event.set();
      produced_.fetch_add(1, std::memory_order_relaxed);
      produced_sum_.fetch_add(id, std::memory_order_relaxed);
    }
  }

  void consume(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      const unsigned i = rng.below(kSlots);
      Slot& s = slots_[i];
      bool got = false;
      switch (rng.below(5)) {
        case 0:
          w.at("AutoResetEvent::wait_for");
          got = s.event.wait_for(rng.timeout());
          break;
        case 1:
          w.at("AutoResetEvent::wait_until (steady_clock)");
          got = s.event.wait_until(Clock::now() + rng.timeout());
          break;
        case 2:
          w.at("AutoResetEvent::wait_until (system_clock)");
          got = s.event.wait_until(std::chrono::system_clock::now() + rng.timeout());
          break;
        case 3:
          if (!kCoroutineWaits) continue;
          w.at("co_await async_wait(AutoResetEvent), stop at the timeout");
          got = coroutine_wait_for(
              [&](std::stop_token stop) { return exitleft::async_wait(s.event, std::move(stop)); },
              rng.timeout());
          break;
        default:
          w.at("AutoResetEvent::try_wait");
          got = s.event.try_wait();
          break;
      }
      if (!got) {
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      take(i);
    }
  }

  void take(unsigned i) {
    // acq_rel: acquires the producer's claim; releases the slot to the next producer.
    const std::uint64_t id = slots_[i].in_flight.exchange(0, std::memory_order_acq_rel);
    if (id == 0) {
      fail(
          format("a wait on event %u returned true with no signal in flight (duplicate or "
                 "spurious)",
                 i));
      return;
    }
    // --inject duplicate: books this signal twice, as if two waits had returned it.
    const std::uint64_t times =
        options().inject == Inject::Duplicate && !injected_.exchange(true) ? 2 : 1;
    consumed_.fetch_add(times, std::memory_order_relaxed);
    consumed_sum_.fetch_add(times * id, std::memory_order_relaxed);
  }

  Slot slots_[kSlots];
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> produced_{0}, produced_sum_{0};
  std::atomic<std::uint64_t> consumed_{0}, consumed_sum_{0};
  std::atomic<std::uint64_t> timeouts_{0}, left_set_{0};
  std::atomic<bool> injected_{false};
};

// A controller runs generations of two phases, A and B, each a ManualResetEvent: it sets the
// phase's event, waits (CountdownEvent) until every waiter acknowledged it, then resets it. Each
// waiter waits for A, then B, then A... and checks that it saw every generation exactly once:
// a missed set hangs it (the watchdog reports it), a stale one shows the old generation.
class ManualResetScenario final : public Scenario {
 public:
  ManualResetScenario(const Options& o, Failures& f) : Scenario("manual-reset", o, f) {}

  void start() override {
    waiters_ = std::max(2u, options().threads);
    spawn("controller", [this](Worker& w) { control(w); });
    for (unsigned i = 0; i < waiters_; ++i) {
      spawn("waiter " + std::to_string(i) + kModeNames[i % 3],
            [this, i](Worker& w) { wait_phases(w, i); });
    }
  }

  void verify() override {
    if (wakeups_.load() != phases_.load() * waiters_) {
      fail(format("%llu phases with %u waiters each, but %llu wake-ups", ull(phases_.load()),
                  waiters_, ull(wakeups_.load())));
    }
  }

  std::string summary() const override {
    return format(
        "%llu generations of 2 phases, %llu waiter wake-ups (every waiter saw every "
        "generation once), %llu waits timed out and retried",
        ull(generation_.load()), ull(wakeups_.load()), ull(timeouts_.load()));
  }
  std::uint64_t headline() const override { return wakeups_.load(std::memory_order_relaxed); }
  std::string describe() const override {
    return format("generation %llu, phase A set %d, phase B set %d, acknowledgements missing %zu",
                  ull(generation_.load()), int(phase_[0].is_set()), int(phase_[1].is_set()),
                  acks_.count());
  }

 private:
  static constexpr const char* kModeNames[3] = {" (untimed)", " (wait_for)",
                                                " (wait_until system_clock)"};

  void control(Worker& w) {
    for (std::uint64_t g = 1;; ++g) {
      const bool last = stopping();
      for (unsigned p = 0; p < 2; ++p) {
        w.at("CountdownEvent::reset (acknowledgements)");
        acks_.reset(waiters_);
        if (p == 0) {
          // relaxed: set() below publishes them (release) to the waiters' waits (acquire); a
          // waiter that reads a stale generation reports it.
          final_.store(last, std::memory_order_relaxed);
          generation_.store(g, std::memory_order_relaxed);
        }
        w.at(p == 0 ? "ManualResetEvent::set (phase A)" : "ManualResetEvent::set (phase B)");
        phase_[p].set();
        if (!phase_[p].is_set()) fail("is_set() is false right after set()");
        w.at("CountdownEvent::wait (every waiter acknowledges)");
        acks_.wait();
        if (!phase_[p].is_set()) fail("a phase event was unset while nobody called reset()");
        w.at("ManualResetEvent::reset");
        phase_[p].reset();
        phases_.fetch_add(1, std::memory_order_relaxed);
        w.tick();
        if (last) return;  // the waiters leave after the final generation's phase A
      }
    }
  }

  void wait_phases(Worker& w, unsigned index) {
    Rng& rng = w.rng();
    const unsigned mode = index % 3;
    std::uint64_t last = 0;
    for (;;) {
      for (unsigned p = 0; p < 2; ++p) {
        w.at(p == 0 ? "waiting for phase A" : "waiting for phase B");
        ManualResetEvent& e = phase_[p];
        if (mode == 0) {
          e.wait();
        } else {
          for (;;) {
            const bool got =
                mode == 1 ? e.wait_for(rng.timeout(3000))
                          : e.wait_until(std::chrono::system_clock::now() + rng.timeout(3000));
            if (got) break;
            timeouts_.fetch_add(1, std::memory_order_relaxed);
          }
        }
        const std::uint64_t g = generation_.load(std::memory_order_relaxed);
        const std::uint64_t expected = p == 0 ? last + 1 : last;
        if (g != expected) {
          fail(
              format("waiter %u woke in phase %c of generation %llu, expected %llu (a set was "
                     "missed or seen twice)",
                     index, p == 0 ? 'A' : 'B', ull(g), ull(expected)));
        }
        // The controller resets only after every acknowledgement: the event must still be set.
        if (!e.is_set()) fail("a waiter woke but the event is not set before it acknowledged");
        const bool fin = final_.load(std::memory_order_relaxed);
        if (p == 0) last = g;
        wakeups_.fetch_add(1, std::memory_order_relaxed);
        if (options().inject == Inject::Stall && index == 0 && g == 3) {
          w.at("injected stall: never acknowledges");
          for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        w.at("CountdownEvent::decrement (acknowledge)");
        acks_.decrement();
        w.tick();
        if (p == 0 && fin) return;
      }
    }
  }

  unsigned waiters_ = 0;
  ManualResetEvent phase_[2];
  CountdownEvent acks_{0};
  // Written before the phase's set() and read after the waiters' waits return: the event's
  // release/acquire orders them, so relaxed suffices.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> final_{false};
  std::atomic<std::uint64_t> phases_{0}, wakeups_{0}, timeouts_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_auto_reset(const Options& o, Failures& f) {
  return std::make_unique<AutoResetScenario>(o, f);
}
std::unique_ptr<Scenario> make_manual_reset(const Options& o, Failures& f) {
  return std::make_unique<ManualResetScenario>(o, f);
}

}  // namespace exitleft::soak
