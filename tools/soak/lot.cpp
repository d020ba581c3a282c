// exitleft-soak: the parking lot itself — park, unpark_one, unpark_all, unpark_requeue and
// unpark_filter on a few shared keys, with every unpark token accounted for.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "exitleft/parking_lot.hpp"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

namespace pl = exitleft::parking_lot;

// Token books: every unpark call hands its token to `n` threads; every parked thread that
// returns Unparked receives one token. Counts, sums and sums of mixed tokens must match:
// a token delivered twice, never delivered, or invented shows up.
struct TokenBooks {
  std::atomic<std::uint64_t> count{0}, sum{0}, mixed{0};
  void add(std::uint64_t token, std::uint64_t n) {
    count.fetch_add(n, std::memory_order_relaxed);
    sum.fetch_add(token * n, std::memory_order_relaxed);
    mixed.fetch_add(mix(token) * n, std::memory_order_relaxed);
  }
};

// Parkers park on one of kKeys keys with a park token naming them (index << 32 | sequence),
// some with a deadline, some untimed, some with a validate that refuses. Unparkers use every
// unpark call with fresh unpark tokens. Checks: validate runs exactly once per park and Invalid
// comes exactly when it refused; TimedOut comes exactly when timed_out ran, with a key of the
// set; unpark_filter only sees the park tokens of threads parked at that moment; requeue results
// match the operation chosen; tokens handed out = tokens received.
class ParkingLotScenario final : public Scenario {
 public:
  ParkingLotScenario(const Options& o, Failures& f) : Scenario("parking-lot", o, f) {}

  void start() override {
    parkers_ = std::max(2u, options().threads);
    current_ = std::make_unique<std::atomic<std::uint64_t>[]>(parkers_);
    parkers_left_.store(parkers_);
    for (unsigned i = 0; i < parkers_; ++i) {
      spawn("parker " + std::to_string(i), [this, i](Worker& w) { park(w, i); });
    }
    for (unsigned i = 0; i < std::max(1u, options().threads / 2); ++i) {
      spawn("unparker " + std::to_string(i), [this](Worker& w) { unpark(w); });
    }
  }

  void verify() override {
    for (const Key& k : keys_) {
      if (pl::unpark_all(&k, 0) != 0) fail("a thread was still parked after every parker ended");
    }
    if (issued_.count.load() != received_.count.load() ||
        issued_.sum.load() != received_.sum.load() ||
        issued_.mixed.load() != received_.mixed.load()) {
      fail(
          format("unpark calls handed out %llu tokens, parked threads received %llu (or "
                 "different ones)",
                 ull(issued_.count.load()), ull(received_.count.load())));
    }
  }

  std::string summary() const override {
    return format(
        "%llu parks: %llu unparked with their token, %llu timed out, %llu invalid; "
        "%llu unpark calls (%llu threads requeued, be_fair %llu times)",
        ull(parks_.load()), ull(received_.count.load()), ull(timed_out_.load()),
        ull(invalid_.load()), ull(unpark_calls_.load()), ull(requeued_.load()), ull(fair_.load()));
  }
  std::uint64_t headline() const override { return parks_.load(std::memory_order_relaxed); }
  std::string describe() const override {
    return format("tokens handed out %llu, received %llu; parkers still running %u",
                  ull(issued_.count.load()), ull(received_.count.load()), parkers_left_.load());
  }

 private:
  static constexpr unsigned kKeys = 4;
  struct alignas(64) Key {
    int unused = 0;
  };

  bool is_key(const void* k) const {
    for (const Key& key : keys_) {
      if (k == &key) return true;
    }
    return false;
  }

  void park(Worker& w, unsigned index) {
    Rng& rng = w.rng();
    std::uint64_t seq = 0;
    while (!stopping()) {
      const Key& key = keys_[rng.below(kKeys)];
      const std::uint64_t token = (std::uint64_t{index} << 32) | (++seq & 0xFFFFFFFFu);
      // relaxed: the bucket lock orders this store before any filter that sees us queued.
      current_[index].store(token, std::memory_order_relaxed);
      const bool valid = !rng.one_in(16);
      int validated = 0;
      int timed_out_calls = 0;
      const void* timed_out_key = nullptr;
      std::optional<Clock::time_point> deadline;
      if (!rng.one_in(8)) deadline = Clock::now() + rng.timeout();
      w.at(deadline ? "parking_lot::park (timed)" : "parking_lot::park (untimed)");
      const pl::ParkResult r = pl::park(
          &key,
          [&] {
            ++validated;
            return valid;
          },
          [] {},
          [&](const void* k, bool) {
            ++timed_out_calls;
            timed_out_key = k;
          },
          token, deadline);
      current_[index].store(0, std::memory_order_relaxed);
      parks_.fetch_add(1, std::memory_order_relaxed);
      if (validated != 1) fail(format("validate ran %d times in one park", validated));
      if ((r.kind == pl::ParkResult::Kind::Invalid) != !valid) {
        fail("park returned Invalid although validate accepted, or the reverse");
      }
      if ((r.kind == pl::ParkResult::Kind::TimedOut) != (timed_out_calls == 1) ||
          timed_out_calls > 1) {
        fail("park's TimedOut and its timed_out callback disagree");
      }
      if (timed_out_calls != 0 && !is_key(timed_out_key)) {
        fail("timed_out was called with a key that is not one of the keys");
      }
      if (r.kind == pl::ParkResult::Kind::TimedOut && !deadline) {
        fail("an untimed park timed out");
      }
      switch (r.kind) {
        case pl::ParkResult::Kind::Unparked:
          received_.add(r.token, 1);
          break;
        case pl::ParkResult::Kind::TimedOut:
          timed_out_.fetch_add(1, std::memory_order_relaxed);
          break;
        case pl::ParkResult::Kind::Invalid:
          invalid_.fetch_add(1, std::memory_order_relaxed);
          break;
      }
      w.tick();
    }
    parkers_left_.fetch_sub(1, std::memory_order_release);
  }

  std::uint64_t fresh_token() { return next_token_.fetch_add(1, std::memory_order_relaxed); }
  void note(const pl::UnparkResult& r) {
    unpark_calls_.fetch_add(1, std::memory_order_relaxed);
    requeued_.fetch_add(r.requeued_threads, std::memory_order_relaxed);
    if (r.be_fair) fair_.fetch_add(1, std::memory_order_relaxed);
  }

  void unpark(Worker& w) {
    Rng& rng = w.rng();
    // After the stop, untimed parkers still need waking: go on until every parker has ended.
    while (!stopping() || parkers_left_.load(std::memory_order_acquire) != 0) {
      w.tick();
      const Key& key = keys_[rng.below(kKeys)];
      std::size_t woken = 0;
      switch (stopping() ? 1 : rng.below(4)) {
        case 0: {
          w.at("parking_lot::unpark_one");
          const pl::UnparkResult r = pl::unpark_one(&key, [&](pl::UnparkResult res) {
            const std::uint64_t t = fresh_token();
            issued_.add(t, res.unparked_threads);
            return t;
          });
          note(r);
          woken = r.unparked_threads;
          break;
        }
        case 1: {
          w.at("parking_lot::unpark_all");
          const std::uint64_t t = fresh_token();
          woken = pl::unpark_all(&key, t);
          issued_.add(t, woken);
          unpark_calls_.fetch_add(1, std::memory_order_relaxed);
          break;
        }
        case 2: {
          const Key& to =
              keys_[(static_cast<unsigned>(&key - keys_) + 1 + rng.below(kKeys - 1)) % kKeys];
          const auto op = static_cast<pl::RequeueOp>(rng.below(5));
          bool called = false;
          w.at("parking_lot::unpark_requeue");
          const pl::UnparkResult r = pl::unpark_requeue(
              &key, &to, [&] { return op; },
              [&](pl::RequeueOp seen, pl::UnparkResult res) {
                called = true;
                if (seen != op) fail("unpark_requeue's callback got another operation");
                const std::uint64_t t = fresh_token();
                issued_.add(t, res.unparked_threads);
                return t;
              });
          check_requeue(op, r, called);
          note(r);
          woken = r.unparked_threads;
          break;
        }
        default: {
          const unsigned parity = rng.below(2);
          const bool may_stop = rng.one_in(4);
          std::size_t chosen = 0;
          w.at("parking_lot::unpark_filter");
          const pl::UnparkResult r = pl::unpark_filter(
              &key,
              [&](pl::ParkToken token) {
                const auto owner = static_cast<unsigned>(token >> 32);
                if (owner >= parkers_ || current_[owner].load(std::memory_order_relaxed) != token) {
                  fail("unpark_filter saw the park token of a thread that is not parked");
                  return pl::FilterOp::Skip;
                }
                if (may_stop && (token & 3) == 3) return pl::FilterOp::Stop;
                if ((token & 1) != parity) return pl::FilterOp::Skip;
                ++chosen;
                return pl::FilterOp::Unpark;
              },
              [&](pl::UnparkResult res) {
                const std::uint64_t t = fresh_token();
                issued_.add(t, res.unparked_threads);
                return t;
              });
          if (r.unparked_threads != chosen) {
            fail("unpark_filter woke another number of threads than its filter chose");
          }
          note(r);
          woken = r.unparked_threads;
          break;
        }
      }
      if (woken == 0) std::this_thread::yield();
    }
  }

  void check_requeue(pl::RequeueOp op, const pl::UnparkResult& r, bool called) {
    using Op = pl::RequeueOp;
    const std::size_t moved = r.unparked_threads + r.requeued_threads;
    bool ok = true;
    switch (op) {
      case Op::Abort:
        ok = !called && moved == 0;
        break;
      case Op::UnparkOneRequeueRest:
        ok = called && r.unparked_threads <= 1 && (r.unparked_threads == 1 || moved == 0);
        break;
      case Op::RequeueAll:
        ok = called && r.unparked_threads == 0;
        break;
      case Op::UnparkOne:
        ok = called && r.requeued_threads == 0 && r.unparked_threads <= 1;
        break;
      case Op::RequeueOne:
        ok = called && r.unparked_threads == 0 && r.requeued_threads <= 1;
        break;
    }
    if (!ok) {
      fail(format("unpark_requeue op %d: %zu unparked, %zu requeued, callback %s",
                  static_cast<int>(op), r.unparked_threads, r.requeued_threads,
                  called ? "called" : "not called"));
    }
  }

  Key keys_[kKeys];
  unsigned parkers_ = 0;
  std::unique_ptr<std::atomic<std::uint64_t>[]> current_;  // park token of each parker, or 0
  std::atomic<unsigned> parkers_left_{0};
  std::atomic<std::uint64_t> next_token_{1};
  TokenBooks issued_, received_;
  std::atomic<std::uint64_t> parks_{0}, timed_out_{0}, invalid_{0};
  std::atomic<std::uint64_t> unpark_calls_{0}, requeued_{0}, fair_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_parking_lot(const Options& o, Failures& f) {
  return std::make_unique<ParkingLotScenario>(o, f);
}

}  // namespace exitleft::soak
