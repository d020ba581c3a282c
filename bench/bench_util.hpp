// Shared helpers for exitleft's benchmark programs.
//
// - Raw baselines: wait / wake on a 32-bit word straight through the platform layer (on Linux,
//   platform::LinuxFutex: FUTEX_WAIT_BITSET / FUTEX_WAKE, private), with no spinning and no
//   waiter tracking. This is what a primitive costs if it adds nothing to the OS call.
// - A two-thread ping-pong harness: the benchmark thread and a partner thread pass a token back
//   and forth over two "channels" (anything with give() / take()); one iteration is one round
//   trip. The partner is started before the timed loop and stopped after it, so neither its
//   creation nor its exit is timed; the time reported is wall-clock time (UseRealTime), because
//   the benchmark thread spends most of a round trip asleep and its CPU time means little.
// - paired_ping_pong(): a baseline and a candidate ping-pong in alternating blocks of a few round
//   trips within one benchmark, against the same partner thread, reporting the median
//   block-by-block ratio as a counter: the steadiest same-run comparison on a VM whose speed
//   jumps from one millisecond to the next and where thread placement decides the speed.
// - HelperThreads: start N threads for one benchmark run and stop them cleanly (a stop flag, then
//   a caller-supplied wake-up, then join), also when the run bails out with SkipWithError.
//
// Every comparison is meant as a ratio against a baseline measured in the same program run
// (tools/bench-ratios.py); absolute times on a shared VM mean little.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#if defined(__linux__)
#include <sched.h>
#endif

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "platform/word_wait.hpp"

namespace exitleft::bench {

using platform::Word;

// The backend the library was built with (bench/CMakeLists.txt defines its macro); on Linux this
// is platform::LinuxFutex. Calls go to it directly, not through the parking lot.
using RawBackend = platform::Backend;

inline void raw_wait(const Word& word, std::uint32_t expected) noexcept {
  RawBackend::wait(word, expected, platform::kNoDeadline);
}
inline void raw_wake_one(const Word* word) noexcept {
  RawBackend::wake_one(word);
}
inline void raw_wake_all(const Word* word) noexcept {
  RawBackend::wake_all(word);
}

// A one-token channel on one futex word, with no spinning: take() sleeps in the kernel as soon as
// the token is not there, give() always makes the wake call (it does not know whether anyone
// sleeps). One giver and one taker at a time.
class alignas(64) RawFutexChannel {
 public:
  void give() noexcept {
    // release: pairs with the acquire exchange in take().
    word_.store(1, std::memory_order_release);
    raw_wake_one(&word_);
  }
  void take() noexcept {
    // acquire: pairs with the release store in give().
    while (word_.exchange(0, std::memory_order_acquire) == 0) raw_wait(word_, 0);
  }

 private:
  Word word_{0};
};

// The median of `v` (of a copy); 0 when empty.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Adds a "min" aggregate next to mean / median / stddev / cv when the program runs with
// --benchmark_repetitions. On a VM whose timings are bimodal (a hand-off to an idle vCPU costs
// ten times one to a busy one), the minimum is the cost of the code path on a quiet machine and
// is much steadier than the median; tools/bench-ratios.py prints ratios of both.
inline void add_min_statistic(benchmark::internal::Benchmark* b) {
  b->ComputeStatistics("min", [](const std::vector<double>& v) -> double {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
  });
}

// The options every ping-pong benchmark needs: wall-clock time, and the min aggregate.
//   BENCHMARK(BM_Something)->Apply(exitleft::bench::ping_pong_options);
inline void ping_pong_options(benchmark::internal::Benchmark* b) {
  b->UseRealTime();
  add_min_statistic(b);
}

// Where the two threads of a ping-pong run. Free: wherever the scheduler puts them (figures
// are then often bimodal on a small machine: same CPU or not). OneCpu: both pinned to CPU 0
// (every hand-off is a context switch on that CPU). TwoCpus: the benchmark thread on CPU 0, the
// partner on CPU 1 (every hand-off crosses CPUs). Pinning uses sched_setaffinity (Linux); where
// it fails (one CPU only, another OS) the benchmark is skipped with a message.
enum class Placement : int { Free = 0, OneCpu = 1, TwoCpus = 2 };

inline bool pin_to(int cpu) noexcept {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
#else
  (void)cpu;
  return false;
#endif
}

// Pins the calling (benchmark) thread for the scope's life and restores its mask after.
class PinScope {
 public:
  explicit PinScope(Placement p) {
#if defined(__linux__)
    if (p == Placement::Free) return;
    saved_ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
    ok_ = saved_ok_ && pin_to(0);
#else
    ok_ = p == Placement::Free;
#endif
  }
  ~PinScope() {
#if defined(__linux__)
    if (saved_ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
#endif
  }
  PinScope(const PinScope&) = delete;
  PinScope& operator=(const PinScope&) = delete;
  bool ok() const noexcept {
    return ok_;
  }

 private:
  bool ok_ = true;
  bool saved_ok_ = false;
#if defined(__linux__)
  cpu_set_t saved_{};
#endif
};

// Two channels and a partner thread that answers on them: it takes from `to_partner` and gives
// on `to_main` until it is stopped. The thread starts in the constructor and is stopped and
// joined in the destructor, so a benchmark creates one before its timed loop and lets it go
// after. Each channel is a single-token hand-off (give() makes the token available, take()
// waits for it and consumes it); round trips never give twice without a take in between.
template <class ToPartner, class ToMain = ToPartner>
class PingPongPartner {
 public:
  PingPongPartner(ToPartner& to_partner, ToMain& to_main, Placement placement = Placement::Free)
      : to_partner_(to_partner), to_main_(to_main), thread_([this, placement] {
          if (placement != Placement::Free) {
            pinned_ok_.store(pin_to(placement == Placement::OneCpu ? 0 : 1));
          }
          pinned_.store(true);
          for (;;) {
            to_partner_.take();
            // acquire: pairs with the release store in the destructor.
            if (stopping_.load(std::memory_order_acquire)) return;
            to_main_.give();
          }
        }) {}
  ~PingPongPartner() {
    // release: pairs with the acquire load in the partner. Between round trips the partner
    // waits in take() (every round trip ends with our take), so exactly one more token reaches
    // it.
    stopping_.store(true, std::memory_order_release);
    to_partner_.give();
    thread_.join();
  }
  PingPongPartner(const PingPongPartner&) = delete;
  PingPongPartner& operator=(const PingPongPartner&) = delete;

  // Whether the partner's pinning worked (waits until it tried).
  bool pinned_ok() const noexcept {
    while (!pinned_.load()) std::this_thread::yield();
    return pinned_ok_.load();
  }

  // One round trip from the calling thread.
  void round_trip() noexcept {
    to_partner_.give();
    to_main_.take();
  }
  // `round_trips` round trips; returns how long they took.
  std::chrono::steady_clock::duration run(int round_trips) noexcept {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < round_trips; ++i) round_trip();
    return std::chrono::steady_clock::now() - start;
  }

 private:
  ToPartner& to_partner_;
  ToMain& to_main_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> pinned_{false};
  std::atomic<bool> pinned_ok_{true};
  std::thread thread_;  // last: starts once the members above exist
};

// Runs the timed loop of `state`, one round trip per iteration, between the benchmark thread
// and a partner thread (PingPongPartner). Register with ping_pong_options.
template <class ToPartner, class ToMain>
void ping_pong(benchmark::State& state, ToPartner& to_partner, ToMain& to_main,
               Placement placement = Placement::Free) {
  PinScope pin(placement);
  PingPongPartner<ToPartner, ToMain> partner(to_partner, to_main, placement);
  if (!pin.ok() || !partner.pinned_ok() ||
      (placement == Placement::TwoCpus && std::thread::hardware_concurrency() < 2)) {
    state.SkipWithError("cannot place the threads (sched_setaffinity)");
    for (auto _ : state) {
    }
    return;
  }
  for (auto _ : state) partner.round_trip();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));  // round trips/s
}

// Two ping-pongs measured side by side in short alternating blocks (each after one untimed
// warm-up round trip), for a ratio that survives a
// machine whose speed changes from one millisecond to the next (separate benchmarks, even with
// interleaved repetitions, can land in different machine states). Each iteration runs
// `round_trips_per_block` round trips over a pair of Baseline channels and as many over a pair
// of Candidate channels; which goes first alternates. Both channel types must be
// default-constructible.
//
// One partner thread answers both, following the same block schedule as the benchmark thread.
// With a partner per side, the two partners can sit on different CPUs for seconds at a time (a
// hand-off to a thread on the same CPU is several times cheaper than waking an idle vCPU), and
// the ratio would measure where the scheduler put two threads, not the primitives.
//
// Counters: "ratio" = the median over iterations of candidate block time / baseline block time;
// "baseline_ns" and "candidate_ns" = the median time of one round trip in each. The iteration
// time Google Benchmark reports (register with ping_pong_options) covers both blocks.
template <class Baseline, class Candidate>
void paired_ping_pong(benchmark::State& state, int round_trips_per_block = 16) {
  Baseline baseline_to_partner;
  Baseline baseline_to_main;
  Candidate candidate_to_partner;
  Candidate candidate_to_main;
  // The schedule: block j belongs to iteration j / 2, which runs the baseline first when even.
  const auto is_baseline_block = [](std::uint64_t j) { return (j % 2 == 0) == (j / 2 % 2 == 0); };

  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (std::uint64_t j = 0;; ++j) {
      const bool baseline = is_baseline_block(j);
      for (int k = 0; k < round_trips_per_block + 1; ++k) {  // + the block's warm-up
        if (baseline) {
          baseline_to_partner.take();
        } else {
          candidate_to_partner.take();
        }
        // acquire: pairs with the release store after the timed loop.
        if (stop.load(std::memory_order_acquire)) return;
        if (baseline) {
          baseline_to_main.give();
        } else {
          candidate_to_main.give();
        }
      }
    }
  });

  // Nanoseconds per round trip of one block. The first round trip of a block is a warm-up, not
  // timed: it carries the switch from the other mechanism (the partner, and maybe its CPU, still
  // busy with the previous block), which a 200 ns hand-off cannot amortise over 16 round trips.
  const auto block = [&](auto& to_partner, auto& to_main) {
    to_partner.give();
    to_main.take();
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < round_trips_per_block; ++k) {
      to_partner.give();
      to_main.take();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::nano>(elapsed).count() / round_trips_per_block;
  };
  std::vector<double> baseline_ns;
  std::vector<double> candidate_ns;
  std::vector<double> ratios;
  baseline_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  candidate_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  ratios.reserve(static_cast<std::size_t>(state.max_iterations));
  std::uint64_t j = 0;
  for (auto _ : state) {
    double b;
    double c;
    if (is_baseline_block(j)) {
      b = block(baseline_to_partner, baseline_to_main);
      c = block(candidate_to_partner, candidate_to_main);
    } else {
      c = block(candidate_to_partner, candidate_to_main);
      b = block(baseline_to_partner, baseline_to_main);
    }
    j += 2;
    baseline_ns.push_back(b);  // reserved: no allocation in the timed loop
    candidate_ns.push_back(c);
    ratios.push_back(c / b);
  }
  // release: pairs with the acquire load in the partner, which now waits in the first take() of
  // block j; that one token wakes it and it returns.
  stop.store(true, std::memory_order_release);
  if (is_baseline_block(j)) {
    baseline_to_partner.give();
  } else {
    candidate_to_partner.give();
  }
  partner.join();

  state.counters["ratio"] = median(ratios);
  state.counters["baseline_ns"] = median(baseline_ns);
  state.counters["candidate_ns"] = median(candidate_ns);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          round_trips_per_block);  // round trips/s, both sides
}

// Polls `counter` until it reaches `target` or `timeout` passes; true if it got there. For
// set-up only (helpers reporting that they are parked), never inside a timed loop.
inline bool wait_for_count(const std::atomic<std::size_t>& counter, std::size_t target,
                           std::chrono::steady_clock::duration timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // acquire: pairs with the helpers' increments, so what they did before counting is visible.
  while (counter.load(std::memory_order_acquire) < target) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Helper threads for one benchmark run.
//
//   HelperThreads helpers;
//   if (!helpers.start(n, [&](std::size_t i) { while (!helpers.stop_requested()) block(i); },
//                      [&] { wake_everyone(); })) { state.SkipWithError("..."); return; }
//   ... timed loop ...
//   helpers.stop();  // or let the destructor do it
//
// stop() sets the stop flag, then calls `wake` once, then joins. A body must therefore check
// stop_requested() in a way that cannot miss the flag together with the wake-up (for example in
// the parking lot's validate(), which runs under the same bucket lock the waking unpark takes).
class HelperThreads {
 public:
  HelperThreads() = default;
  HelperThreads(const HelperThreads&) = delete;
  HelperThreads& operator=(const HelperThreads&) = delete;
  ~HelperThreads() { stop(); }

  // Starts `count` threads running `body(index)`. Returns false if the OS refused a thread; the
  // threads started so far have then been stopped and joined.
  template <class Body, class Wake>
  bool start(std::size_t count, Body body, Wake wake) {
    wake_ = std::move(wake);
    // relaxed: the threads are created after this store (thread creation synchronizes).
    stop_.store(false, std::memory_order_relaxed);
    threads_.reserve(count);
    try {
      for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([body, i] { body(i); });
    } catch (const std::system_error&) {
      stop();
      return false;
    }
    return true;
  }

  bool stop_requested() const noexcept {
    // acquire: pairs with the release store in stop().
    return stop_.load(std::memory_order_acquire);
  }

  std::size_t size() const noexcept { return threads_.size(); }

  // Idempotent; a no-op when nothing runs.
  void stop() noexcept {
    if (threads_.empty()) return;
    // release: pairs with the acquire load in stop_requested().
    stop_.store(true, std::memory_order_release);
    if (wake_) wake_();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    wake_ = nullptr;
  }

 private:
  std::atomic<bool> stop_{false};
  std::function<void()> wake_;
  std::vector<std::thread> threads_;
};

}  // namespace exitleft::bench
