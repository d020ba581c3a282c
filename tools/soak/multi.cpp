// exitleft-soak: wait_any / wait_all over a mix of events, semaphores and a countdown, with
// single-object waiters on the same objects.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "exitleft/wait.hpp"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

// Consumable objects (books kept per object): 0 = auto-reset a0, 1 = a1, 2 = semaphore s0,
// 3 = s1. Auto-reset events are "armed" by the producer that sets them and disarmed by whoever
// consumes the signal, so each carries at most one signal and a consumption with nothing armed is
// a duplicate. Observed objects: a ManualResetEvent m and a CountdownEvent c, opened and closed
// by a toggler that counts epochs (odd = closed). A wait that succeeded through m (or c) while
// the epoch was the same odd number before and after it saw an object that was closed the whole
// time: a wait-all that is not atomic, or a stale observation. `quit` ends untimed wait_any()s.
class MultiWaitScenario final : public Scenario {
 public:
  MultiWaitScenario(const Options& o, Failures& f) : Scenario("multi-wait", o, f) {}

  void start() override {
    // The argument checks (SPEC): the same object twice in a wait-all, an empty list.
    try {
      (void)wait_all_for(std::chrono::milliseconds(0), {a_[0], a_[0]});
      fail("wait_all with the same object twice did not throw");
    } catch (const std::invalid_argument&) {
    }
    try {
      (void)wait_any_for(std::chrono::milliseconds(0), std::span<const WaitableRef>());
      fail("wait_any over no objects did not throw");
    } catch (const std::invalid_argument&) {
    }
    const unsigned n = options().threads;
    for (unsigned i = 0; i < std::max(1u, n / 2); ++i) {
      spawn("producer " + std::to_string(i), [this](Worker& w) { produce(w); });
    }
    spawn("toggler (m, c)", [this](Worker& w) { toggle(w); });
    for (unsigned i = 0; i < std::max(2u, n); ++i) {
      spawn("consumer " + std::to_string(i), [this](Worker& w) { consume(w); });
    }
  }

  void request_stop() override {
    Scenario::request_stop();
    quit_set_.store(true, std::memory_order_release);
    quit_.set();  // ends the untimed wait_any({a0, s0, quit}) calls
  }

  void verify() override {
    for (unsigned k = 0; k < 2; ++k) {
      const bool armed = armed_[k].load();
      const bool set = a_[k].try_wait();
      if (armed && !set) fail(format("a signal set on a%u was never consumed (lost)", k));
      if (!armed && set) fail(format("a%u is set with no signal produced (duplicate)", k));
      if (armed && set) consumed_[k].fetch_add(1);
    }
    for (unsigned k = 0; k < 2; ++k) {
      while (s_[k].try_acquire()) consumed_[2 + k].fetch_add(1);
    }
    static constexpr const char* kNames[4] = {"a0", "a1", "s0", "s1"};
    for (unsigned k = 0; k < 4; ++k) {
      if (produced_[k].load() != consumed_[k].load()) {
        fail(format("%s: produced %llu signals, consumed %llu (including what was left): %s",
                    kNames[k], ull(produced_[k].load()), ull(consumed_[k].load()),
                    produced_[k].load() > consumed_[k].load() ? "lost" : "duplicated"));
      }
    }
  }

  std::string summary() const override {
    std::uint64_t produced = 0;
    for (const auto& p : produced_) produced += p.load();
    return format(
        "%llu signals produced and consumed exactly once; wait_any %llu (%llu timed "
        "out), wait_all %llu (%llu timed out, none consumed anything), single waits "
        "%llu, closed-object checks %llu, m/c openings %llu",
        ull(produced), ull(any_.load()), ull(any_timeouts_.load()), ull(all_.load()),
        ull(all_timeouts_.load()), ull(single_.load()), ull(bracketed_.load()),
        ull(openings_.load()));
  }
  std::uint64_t headline() const override {
    return any_.load(std::memory_order_relaxed) + all_.load(std::memory_order_relaxed) +
           single_.load(std::memory_order_relaxed);
  }
  std::string describe() const override {
    return format(
        "a0 set %d armed %d, a1 set %d armed %d, s0 %u, s1 %u, m set %d, c count %zu, "
        "m epoch %llu, c epoch %llu",
        int(a_[0].is_set()), int(armed_[0].load()), int(a_[1].is_set()), int(armed_[1].load()),
        s_[0].count(), s_[1].count(), int(m_.is_set()), c_.count(), ull(m_epoch_.load()),
        ull(c_epoch_.load()));
  }

 private:
  void produce(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      const unsigned k = rng.below(4);
      if (k < 2) {
        // acq_rel: the consumer that disarms it took the previous signal.
        if (armed_[k].exchange(true, std::memory_order_acq_rel)) {
          if (rng.one_in(4)) std::this_thread::yield();
          continue;
        }
        w.at("AutoResetEvent::set");
        a_[k].set();
        produced_[k].fetch_add(1, std::memory_order_relaxed);
      } else {
        const std::uint32_t n = rng.one_in(4) ? 2 : 1;
        w.at("Semaphore::release");
        if (s_[k - 2].release(n)) {
          produced_[k].fetch_add(n, std::memory_order_relaxed);
        } else {
          std::this_thread::yield();  // full
        }
      }
    }
  }

  void toggle(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      // seq_cst epochs (see bracket()): the open bumps the epoch before the object opens, the
      // close bumps it after the object closed.
      switch (rng.below(3)) {
        case 0:
          m_epoch_.fetch_add(1);
          w.at("ManualResetEvent::set (m)");
          m_.set();
          hold(rng);
          w.at("ManualResetEvent::reset (m)");
          m_.reset();
          m_epoch_.fetch_add(1);
          break;
        case 1:
          m_epoch_.fetch_add(1);
          w.at("ManualResetEvent::pulse (m)");
          m_.pulse();
          if (m_.is_set()) fail("pulse() left the event set");
          m_epoch_.fetch_add(1);
          break;
        default:
          c_epoch_.fetch_add(1);
          w.at("CountdownEvent::decrement (c, 1 -> 0)");
          if (!c_.decrement()) fail("c: decrement from 1 did not report reaching 0");
          hold(rng);
          w.at("CountdownEvent::increment (c, 0 -> 1)");
          c_.increment();
          c_epoch_.fetch_add(1);
          break;
      }
      openings_.fetch_add(1, std::memory_order_relaxed);
      w.at("toggler resting");
      std::this_thread::sleep_for(std::chrono::microseconds(rng.below(300)));
    }
  }
  static void hold(Rng& rng) {
    if (rng.one_in(2)) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(rng.below(200)));
    }
  }

  // A wait that succeeded through an observed object: it must have been open at some moment
  // during the wait. Sound because closing (reset / increment) happens before the odd epoch is
  // stored and opening happens after the even one, and the wait reads the object's state with
  // acquire: had it seen the object open, it would also see the epoch move.
  void bracket(const std::atomic<std::uint64_t>& epoch, std::uint64_t before, const char* what) {
    bracketed_.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t after = epoch.load();
    if (before == after && (before & 1) != 0) {
      fail(format("%s succeeded although the object was closed during the whole wait", what));
    }
  }

  // One signal of object k was consumed (by any kind of wait).
  void took(unsigned k) {
    if (k < 2 && !armed_[k].exchange(false, std::memory_order_acq_rel)) {
      fail(format("a0/a1: a signal of a%u was consumed with none produced (duplicate)", k));
      return;
    }
    consumed_[k].fetch_add(1, std::memory_order_relaxed);
  }

  void any_result(std::optional<std::size_t> r, std::initializer_list<unsigned> objects) {
    if (!r) {
      any_timeouts_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    any_.fetch_add(1, std::memory_order_relaxed);
    took(objects.begin()[*r]);
  }

  void all_result(bool r, std::initializer_list<unsigned> objects) {
    if (!r) {
      all_timeouts_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    all_.fetch_add(1, std::memory_order_relaxed);
    for (unsigned k : objects) took(k);
  }

  void consume(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      const auto t = rng.timeout();
      switch (rng.below(10)) {
        case 0:
          w.at("wait_any_for {a0, s0, a1, s1}");
          any_result(wait_any_for(t, {a_[0], s_[0], a_[1], s_[1]}), {0, 2, 1, 3});
          break;
        case 1: {
          w.at("wait_any {a0, s0, quit} (untimed)");
          const std::size_t i = wait_any({a_[0], s_[0], quit_});
          if (i == 2) {
            // acquire: pairs with request_stop().
            if (!quit_set_.load(std::memory_order_acquire)) fail("wait_any returned quit unset");
            break;
          }
          any_result(i, {0, 2});
          break;
        }
        case 2:
          w.at("wait_all_for {a0, s0}");
          all_result(wait_all_for(t, {a_[0], s_[0]}), {0, 2});
          break;
        case 3: {
          w.at("wait_all_for {m, a1, s1}");
          const std::uint64_t before = m_epoch_.load();
          const bool r = wait_all_for(t, {m_, a_[1], s_[1]});
          if (r) bracket(m_epoch_, before, "wait_all {m, a1, s1}");
          all_result(r, {1, 3});
          break;
        }
        case 4: {
          w.at("wait_all_for {c, s0}");
          const std::uint64_t before = c_epoch_.load();
          const bool r = wait_all_for(t, {c_, s_[0]});
          if (r) bracket(c_epoch_, before, "wait_all {c, s0}");
          all_result(r, {2});
          break;
        }
        case 5:
          w.at("wait_all_for {a0, a1, s0, s1}");
          all_result(wait_all_for(t, {a_[0], a_[1], s_[0], s_[1]}), {0, 1, 2, 3});
          break;
        case 6: {
          w.at("wait_any_for {a1, s1, m}");
          const std::uint64_t before = m_epoch_.load();
          const auto r = wait_any_for(t, {a_[1], s_[1], m_});
          if (r && *r == 2) {
            bracket(m_epoch_, before, "wait_any {a1, s1, m} returning m");
            any_.fetch_add(1, std::memory_order_relaxed);
          } else {
            any_result(r, {1, 3});
          }
          break;
        }
        case 7: {
          const unsigned k = rng.below(4);
          bool got;
          if (k < 2) {
            w.at("AutoResetEvent::wait_for (multi-waited object)");
            got = a_[k].wait_for(t);
          } else {
            w.at("Semaphore::try_acquire_for (multi-waited object)");
            got = s_[k - 2].try_acquire_for(t);
          }
          if (got) {
            single_.fetch_add(1, std::memory_order_relaxed);
            took(k);
          }
          break;
        }
        case 8:
          if (rng.one_in(2)) {
            w.at("CountdownEvent::wait_for (c)");
            const std::uint64_t before = c_epoch_.load();
            if (c_.wait_for(t)) bracket(c_epoch_, before, "c.wait_for");
          } else {
            w.at("ManualResetEvent::wait_for (m)");
            const std::uint64_t before = m_epoch_.load();
            if (m_.wait_for(t)) bracket(m_epoch_, before, "m.wait_for");
          }
          break;
        default:
          w.at("wait_any_until system_clock {s1, a1}");
          any_result(wait_any_until(std::chrono::system_clock::now() + t, {s_[1], a_[1]}), {3, 1});
          break;
      }
    }
  }

  AutoResetEvent a_[2];
  Semaphore s_[2]{Semaphore(0, 3), Semaphore(0, 3)};
  ManualResetEvent m_;
  CountdownEvent c_{1};
  ManualResetEvent quit_;
  std::atomic<bool> quit_set_{false};
  std::atomic<bool> armed_[2]{};
  std::atomic<std::uint64_t> produced_[4]{}, consumed_[4]{};
  std::atomic<std::uint64_t> m_epoch_{1}, c_epoch_{1};  // odd: closed
  std::atomic<std::uint64_t> any_{0}, any_timeouts_{0}, all_{0}, all_timeouts_{0}, single_{0};
  std::atomic<std::uint64_t> bracketed_{0}, openings_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_multi_wait(const Options& o, Failures& f) {
  return std::make_unique<MultiWaitScenario>(o, f);
}

}  // namespace exitleft::soak
