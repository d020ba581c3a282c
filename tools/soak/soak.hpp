// exitleft-soak: the pieces every scenario shares.
//
// A scenario drives one primitive (or one mix of them) from several threads for the soak's
// duration and keeps exact books: every signal, unit, generation, message or unpark token that
// was produced must be consumed exactly once, and nothing may be consumed that was not produced.
// Each thread is a Worker: it names what it is doing (its phase) and counts its loop iterations,
// so that the watchdog in main.cpp can tell a thread that makes no progress and say where it is.
// Every loop iteration of every worker is bounded (timed waits, or untimed ones that the
// scenario's protocol always ends within moments), so a worker whose count stands still for
// the stall timeout is stuck: a lost wake-up, a stranded waiter, a deadlock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace exitleft::soak {

// printf into a std::string (failure and progress messages; 255 characters at most).
std::string format(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}
using ull = unsigned long long;

using Clock = std::chrono::steady_clock;

// Faults the soak can inject into its own bookkeeping, to show that its checks and its
// watchdog fail when they must (tools/soak/CMakeLists.txt runs them as tests).
enum class Inject : std::uint8_t {
  None,
  Lose,       // a semaphore consumer forgets one unit it took: "lost" must be reported
  Duplicate,  // an auto-reset consumer books one signal twice: a duplicate is reported
  Stall,      // a manual-reset waiter stops acknowledging: the watchdog must fire
};

struct Options {
  double duration_s = 60;
  unsigned threads = 3;  // worker threads per scenario role group
  std::uint64_t seed = 0;
  bool quiet = false;
  double stall_timeout_s = 30;
  Inject inject = Inject::None;
};

// splitmix64: small, fast and good enough to pick operations and timeouts.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (n > 0; the bias of the modulo does not matter here).
  std::uint32_t below(std::uint32_t n) noexcept { return static_cast<std::uint32_t>(next() % n); }
  // True once in `n` on average.
  bool one_in(std::uint32_t n) noexcept { return below(n) == 0; }
  // A timeout for a timed wait: zero now and then, else up to `max_us` microseconds.
  std::chrono::microseconds timeout(std::uint32_t max_us = 2000) noexcept {
    if (one_in(16)) return std::chrono::microseconds(0);
    return std::chrono::microseconds(below(max_us) + 1);
  }

 private:
  std::uint64_t state_;
};

// Mixes a value so that sums of mixed values catch swapped or repeated tokens.
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}

// What went wrong, collected from any thread. Only the first few details of each scenario are
// kept; the count says how many there were.
class Failures {
 public:
  void add(const std::string& scenario, std::string what);
  std::size_t count() const;
  std::vector<std::string> details() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> details_;
  std::size_t count_ = 0;
  std::size_t kept_per_scenario_limit_ = 8;
  std::vector<std::pair<std::string, std::size_t>> per_scenario_;
};

// One thread of a scenario.
class Worker {
 public:
  Worker(std::string name, std::uint64_t seed) : name_(std::move(name)), rng_(seed) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& name() const noexcept { return name_; }
  Rng& rng() noexcept { return rng_; }
  // What the thread is doing now (a string literal), shown by the watchdog.
  void at(const char* phase) noexcept { phase_.store(phase, std::memory_order_relaxed); }
  const char* phase() const noexcept { return phase_.load(std::memory_order_relaxed); }
  // One loop iteration done.
  void tick() noexcept { ops_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t ops() const noexcept { return ops_.load(std::memory_order_relaxed); }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  // The kernel's id of the worker's thread (Linux; 0 elsewhere or before it started), for the
  // watchdog's report of what a stuck thread is doing in the kernel.
  long tid() const noexcept { return tid_.load(std::memory_order_relaxed); }

 private:
  friend class Scenario;
  const std::string name_;
  Rng rng_;
  std::atomic<const char*> phase_{"starting"};
  std::atomic<std::uint64_t> ops_{0};
  std::atomic<bool> done_{false};
  std::atomic<long> tid_{0};
};

// One primitive's workout. start() spawns the threads; request_stop() asks them to finish (they
// drain what is in flight first); verify() runs after every thread ended.
class Scenario {
 public:
  Scenario(std::string name, const Options& options, Failures& failures)
      : name_(std::move(name)), options_(options), failures_(failures) {}
  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;
  virtual ~Scenario();

  const std::string& name() const noexcept { return name_; }
  virtual void start() = 0;
  // Called once the soak's time is up. The default sets stopping(); scenarios whose threads
  // may block untimed also wake them here.
  virtual void request_stop() { stop_.store(true, std::memory_order_release); }
  // The scenario's own checks once every thread has ended (after join()).
  virtual void verify() = 0;
  // One line of counts for the summary.
  virtual std::string summary() const = 0;
  // The headline count for the progress line (consumed signals, delivered messages...).
  virtual std::uint64_t headline() const = 0;
  // Extra state for the watchdog's report (values of the scenario's objects and books).
  virtual std::string describe() const { return {}; }

  bool all_done() const;
  void join();
  const std::vector<std::unique_ptr<Worker>>& workers() const noexcept { return workers_; }

 protected:
  bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }
  const Options& options() const noexcept { return options_; }
  // Records a failure of this scenario.
  void fail(std::string what) { failures_.add(name_, std::move(what)); }
  // Starts a thread running body(worker).
  void spawn(std::string role, std::function<void(Worker&)> body);

 private:
  const std::string name_;
  const Options& options_;
  Failures& failures_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

// The scenarios (one file each).
std::unique_ptr<Scenario> make_auto_reset(const Options&, Failures&);
std::unique_ptr<Scenario> make_manual_reset(const Options&, Failures&);
std::unique_ptr<Scenario> make_semaphore(const Options&, Failures&);
std::unique_ptr<Scenario> make_countdown(const Options&, Failures&);
std::unique_ptr<Scenario> make_multi_wait(const Options&, Failures&);
std::unique_ptr<Scenario> make_stage(const Options&, Failures&);
std::unique_ptr<Scenario> make_parking_lot(const Options&, Failures&);
std::unique_ptr<Scenario> make_c_api(const Options&, Failures&);

// "1234567" → "1.23M" for the progress line.
std::string short_count(std::uint64_t n);

}  // namespace exitleft::soak
