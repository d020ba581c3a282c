// exitleft-soak: the C API (exitleft.h), the path C programs and FFI users take to the same
// objects: a job flow through exitleft_wait_any, a lock taken by exitleft_wait_all and by
// exitleft_semaphore_acquire around a plain counter, and an auto-reset event in the mix.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "exitleft/exitleft.h"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

// Producers release units of `jobs` and now and then set `token`; consumers wait_any on
// {jobs, token, quit}: units released = units taken + units left, signals taken <= sets. Every
// consumer also takes `lock` (a semaphore(1, 1)), by wait_all({jobs, lock}) or by acquire, and
// increments a plain counter under it: the counter must equal the number of increments, and
// TSan sees each one ordered by the lock's release -> acquire.
class CApiScenario final : public Scenario {
 public:
  CApiScenario(const Options& o, Failures& f) : Scenario("c-api", o, f) {}
  ~CApiScenario() override {
    exitleft_semaphore_destroy(jobs_);
    exitleft_semaphore_destroy(lock_);
    exitleft_event_destroy(token_);
    exitleft_event_destroy(quit_);
  }

  void start() override {
    if (jobs_ == nullptr || lock_ == nullptr || token_ == nullptr || quit_ == nullptr) {
      fail("an exitleft_*_create returned NULL");
      return;
    }
    const unsigned n = options().threads;
    for (unsigned i = 0; i < std::max(1u, n / 2); ++i) {
      spawn("producer " + std::to_string(i), [this](Worker& w) { produce(w); });
    }
    for (unsigned i = 0; i < std::max(2u, n); ++i) {
      spawn("consumer " + std::to_string(i), [this](Worker& w) { consume(w); });
    }
  }

  // Consumers may wait without a timeout: quit (manual-reset) wakes every one of them.
  void request_stop() override {
    Scenario::request_stop();
    exitleft_event_set(quit_);
  }

  void verify() override {
    std::uint64_t left = 0;
    while (exitleft_semaphore_acquire(jobs_, 0) == EXITLEFT_OK) ++left;
    left_ = left;
    const std::uint64_t released = released_.load(), taken = taken_.load();
    if (released != taken + left) {
      fail(format("released %llu units, took %llu, %llu left: %s", ull(released), ull(taken),
                  ull(left), released > taken + left ? "units lost" : "units duplicated"));
    }
    if (signals_.load() > sets_.load()) {
      fail(format("took %llu signals of an auto-reset event set %llu times", ull(signals_.load()),
                  ull(sets_.load())));
    }
    if (guarded_ != increments_.load()) {
      fail(format("the counter guarded by the lock is %llu after %llu increments (a race)",
                  ull(guarded_), ull(increments_.load())));
    }
    if (exitleft_semaphore_count(lock_) != 1) fail("the lock is not free at the end");
  }

  std::string summary() const override {
    return format(
        "%llu units released, %llu taken (%llu with the lock, by wait_all), %llu left; %llu "
        "signals taken of %llu sets; %llu guarded increments; %llu waits timed out",
        ull(released_.load()), ull(taken_.load()), ull(taken_with_lock_.load()), ull(left_),
        ull(signals_.load()), ull(sets_.load()), ull(increments_.load()), ull(timeouts_.load()));
  }
  std::uint64_t headline() const override {
    return taken_.load(std::memory_order_relaxed) + increments_.load(std::memory_order_relaxed);
  }
  std::string describe() const override {
    return format("jobs count %u, lock count %u, token %s, quit %s",
                  exitleft_semaphore_count(jobs_), exitleft_semaphore_count(lock_),
                  exitleft_event_is_set(token_) ? "set" : "unset",
                  exitleft_event_is_set(quit_) ? "set" : "unset");
  }

 private:
  static constexpr std::uint32_t kJobsMax = 64;

  // A timeout in nanoseconds: forever now and then (quit ends it), else up to 2 ms or a poll.
  static std::int64_t timeout_ns(Rng& rng) {
    if (rng.one_in(4)) return EXITLEFT_INFINITE;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(rng.timeout()).count();
  }

  void produce(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.tick();
      const std::uint32_t n = 1 + rng.below(3);
      w.at("exitleft_semaphore_release (jobs)");
      // Counted before the release: a consumer can never take more than was counted.
      released_.fetch_add(n, std::memory_order_relaxed);
      if (exitleft_semaphore_release(jobs_, n) != EXITLEFT_OK) {
        released_.fetch_sub(n, std::memory_order_relaxed);  // full: nothing changed
        std::this_thread::yield();
      }
      if (rng.one_in(4)) {
        w.at("exitleft_event_set (token)");
        sets_.fetch_add(1, std::memory_order_relaxed);
        exitleft_event_set(token_);
      }
    }
  }

  void consume(Worker& w) {
    Rng& rng = w.rng();
    const void* any[] = {jobs_, token_, quit_};
    const void* all[] = {jobs_, lock_};
    for (;;) {
      w.tick();
      if (rng.one_in(8)) {
        w.at("exitleft_wait_all (jobs, lock)");
        // Timed: with no job left at the end, an untimed wait_all would never return.
        const int r = exitleft_wait_all(all, 2, rng.one_in(4) ? 2'000'000 : 500'000);
        if (r == EXITLEFT_OK) {
          taken_.fetch_add(1, std::memory_order_relaxed);
          taken_with_lock_.fetch_add(1, std::memory_order_relaxed);
          guarded_increment();
        } else if (r == EXITLEFT_TIMEOUT) {
          timeouts_.fetch_add(1, std::memory_order_relaxed);
        } else {
          fail(format("exitleft_wait_all returned %d", r));
        }
        if (stopping()) return;
        continue;
      }
      if (rng.one_in(8)) {
        w.at("exitleft_semaphore_acquire (lock)");
        if (exitleft_semaphore_acquire(lock_, EXITLEFT_INFINITE) != EXITLEFT_OK) {
          fail("an untimed exitleft_semaphore_acquire did not return EXITLEFT_OK");
        } else {
          guarded_increment();
        }
      }
      w.at("exitleft_wait_any (jobs, token, quit)");
      std::size_t index = 99;
      const int r = exitleft_wait_any(any, 3, timeout_ns(rng), &index);
      if (r == EXITLEFT_TIMEOUT) {
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (r != EXITLEFT_OK) {
        fail(format("exitleft_wait_any returned %d", r));
        return;
      }
      if (index == 0) {
        taken_.fetch_add(1, std::memory_order_relaxed);
      } else if (index == 1) {
        signals_.fetch_add(1, std::memory_order_relaxed);
      } else if (index == 2) {
        return;  // quit: jobs and token come first (lowest index), so they were drained
      } else {
        fail(format("exitleft_wait_any returned index %zu of 3", index));
        return;
      }
    }
  }

  // Called holding the lock (one unit of lock_, taken by this thread); gives it back.
  void guarded_increment() {
    ++guarded_;
    increments_.fetch_add(1, std::memory_order_relaxed);
    if (exitleft_semaphore_release(lock_, 1) != EXITLEFT_OK) {
      fail("giving the lock back was refused: it was held twice");
    }
  }

  exitleft_semaphore* jobs_ = exitleft_semaphore_create(0, kJobsMax);
  exitleft_semaphore* lock_ = exitleft_semaphore_create(1, 1);
  exitleft_event* token_ = exitleft_event_create(false, false);
  exitleft_event* quit_ = exitleft_event_create(true, false);
  std::uint64_t guarded_ = 0;  // plain: only the lock orders its increments
  std::uint64_t left_ = 0;
  // relaxed everywhere: books, read by verify() after join() (which orders them), no partner.
  std::atomic<std::uint64_t> released_{0}, taken_{0}, taken_with_lock_{0}, signals_{0}, sets_{0},
      increments_{0}, timeouts_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_c_api(const Options& o, Failures& f) {
  return std::make_unique<CApiScenario>(o, f);
}

}  // namespace exitleft::soak
