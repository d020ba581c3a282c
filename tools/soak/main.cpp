// exitleft-soak: every exitleft primitive, driven from many threads at once for a bounded time,
// with exact books (tools/soak/soak.hpp). Exit status: 0 no lost or duplicated signal and every
// check passed, 1 a check failed or a thread got stuck (the watchdog), 2 bad arguments.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tools/soak/soak.hpp"

namespace {

using namespace exitleft::soak;

#ifndef EXITLEFT_TOOLS_VERSION
#error "EXITLEFT_TOOLS_VERSION (the project's version) comes from tools/CMakeLists.txt"
#endif

// Read by people and by help2man, which makes the man page from it (tools/CMakeLists.txt): the
// Usage line, the description, then sections that start with a line ending in a colon.
constexpr const char* kUsage = R"(Usage: exitleft-soak [OPTION]...
Stress every exitleft primitive and check that no signal is lost or duplicated.

Runs every exitleft primitive from many threads at once for a bounded time and keeps exact
books: every signal, semaphore unit, generation, message and unpark token produced must be
consumed exactly once. Scenarios, all at the same time, each on its own threads:
  auto-reset    AutoResetEvent hand-offs with timed waits (one id in flight per event)
  manual-reset  ManualResetEvent generations; waiters must see every one exactly once
  semaphore     a pool of units (never more holders than units) and a producer/consumer flow
  countdown     CountdownEvent rounds: exactly one decrement reaches 0, every waiter released
  multi-wait    wait_any / wait_all over events, semaphores and a countdown, + single waiters
  stage         a Stage routing messages by token through an in-memory resource, in order
  parking-lot   park / unpark_one / unpark_all / unpark_requeue / unpark_filter, tokens booked
  c-api         the C API (exitleft.h): wait_any jobs, wait_all and acquire a lock, a counter
A thread that makes no progress for the stall timeout is reported with what it was doing and
its state in the kernel; the soak then watches it for one more stall timeout, says whether it
moved again (a stall) or not (a lost wake-up or a deadlock), and exits with status 1 either way
(a hang never hangs CI).

Exit status: 0 every check passed, 1 a check failed or a thread was stuck, 2 bad arguments.

Options:
  --duration S       seconds to run (default 60; 0.1 to 86400)
  --threads N        threads per role in each scenario (default 3; 2 to 64)
  --seed S           seed of the threads' random choices (default: from the clock; printed)
  --stall-timeout S  seconds without progress that count as stuck (default 30; 1 to 3600)
  --quiet            no progress line and no counts: only the verdict and any failure
  --inject F         break the soak's own books to show that its checks work:
                     lose, duplicate or stall (exit status 1 expected)
  --help             print this text and exit
  --version          print the version and exit

Examples:
  exitleft-soak --duration 10
                     every scenario for 10 seconds, 3 threads per role
  exitleft-soak --duration 600 --threads 8 --quiet
                     ten minutes with 8 threads per role, only the verdict
  exitleft-soak --duration 5 --seed 42
                     the random choices of an earlier run again
)";

[[noreturn]] void bad_argument(const std::string& what) {
  std::fprintf(stderr, "exitleft-soak: %s\n(try --help)\n", what.c_str());
  std::exit(2);
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  bool seeded = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) bad_argument(std::string(arg) + " needs a value");
      return argv[++i];
    };
    auto no_value = [&] {
      if (inline_value) bad_argument(std::string(arg) + " takes no value");
    };
    if (arg == "--help" || arg == "-h") {
      no_value();
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--version") {
      no_value();
      std::puts("exitleft-soak " EXITLEFT_TOOLS_VERSION);
      std::exit(0);
    } else if (arg == "--duration") {
      const std::string_view v = value();
      const auto d = parse_double(v);
      if (!d || *d < 0.1 || *d > 86400) {
        bad_argument("--duration must be a number of seconds from 0.1 to 86400, not '" +
                     std::string(v) + "'");
      }
      o.duration_s = *d;
    } else if (arg == "--threads") {
      const std::string_view v = value();
      const auto n = parse_u64(v);
      if (!n || *n < 2 || *n > 64) {
        bad_argument("--threads must be from 2 to 64, not '" + std::string(v) + "'");
      }
      o.threads = static_cast<unsigned>(*n);
    } else if (arg == "--seed") {
      const std::string_view v = value();
      const auto s = parse_u64(v);
      if (!s)
        bad_argument("--seed must be an unsigned 64-bit number, not '" + std::string(v) + "'");
      o.seed = *s;
      seeded = true;
    } else if (arg == "--stall-timeout") {
      const std::string_view v = value();
      const auto d = parse_double(v);
      if (!d || *d < 1 || *d > 3600) {
        bad_argument("--stall-timeout must be a number of seconds from 1 to 3600, not '" +
                     std::string(v) + "'");
      }
      o.stall_timeout_s = *d;
    } else if (arg == "--quiet") {
      no_value();
      o.quiet = true;
    } else if (arg == "--inject") {
      const std::string_view v = value();
      if (v == "lose") {
        o.inject = Inject::Lose;
      } else if (v == "duplicate") {
        o.inject = Inject::Duplicate;
      } else if (v == "stall") {
        o.inject = Inject::Stall;
      } else {
        bad_argument("--inject must be lose, duplicate or stall, not '" + std::string(v) + "'");
      }
    } else {
      bad_argument("unknown option '" + std::string(argv[i]) + "'");
    }
  }
  if (!seeded) {
    o.seed = mix(
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  }
  return o;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// What the kernel says thread `tid` of this process is doing: its scheduler state (R runnable,
// S sleeping, ...) and, when sleeping, the kernel function it sleeps in. Linux only.
std::string kernel_state(long tid) {
#ifdef __linux__
  if (tid == 0) return "kernel state unknown";
  const std::string dir = "/proc/self/task/" + std::to_string(tid) + "/";
  auto read = [](const std::string& path) {
    std::string text;
    if (std::FILE* f = std::fopen(path.c_str(), "r")) {
      char buf[512];
      const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      text.assign(buf, n);
      std::fclose(f);
    }
    return text;
  };
  // stat: "tid (comm) S ...": the state follows the last ')'.
  const std::string stat = read(dir + "stat");
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return "kernel state unknown";
  std::string out = std::string("kernel: ") + stat[paren + 2];
  const std::string wchan = read(dir + "wchan");
  if (!wchan.empty() && wchan != "0") out += " in " + wchan;
  return out;
#else
  (void)tid;
  return "kernel state unknown";
#endif
}

// Tracks each worker's count of loop iterations; a worker that has not finished and whose count
// stood still for the stall timeout is stuck.
class Watchdog {
 public:
  Watchdog(const std::vector<std::unique_ptr<Scenario>>& scenarios, double limit_s)
      : scenarios_(scenarios), limit_s_(limit_s) {
    for (const auto& s : scenarios_) {
      for (const auto& w : s->workers()) seen_.push_back({w.get(), w->ops(), Clock::now()});
    }
  }

  // Returns normally while everything moves; otherwise reports and ends the process.
  void check(const Failures& failures) {
    bool stuck = false;
    for (Seen& s : seen_) {
      const std::uint64_t ops = s.worker->ops();
      if (ops != s.ops || s.worker->done()) {
        s.ops = ops;
        s.since = Clock::now();
      } else if (seconds_since(s.since) >= limit_s_) {
        stuck = true;
      }
    }
    if (!stuck) return;
    std::fprintf(stdout, "\nexitleft-soak: STUCK: threads made no progress for %.0f s\n", limit_s_);
    std::vector<Seen*> stuck_workers;
    for (const auto& sc : scenarios_) {
      bool header = false;
      for (const auto& w : sc->workers()) {
        Seen& s = find(w.get());
        const double idle = seconds_since(s.since);
        if (w->done() || idle < limit_s_) continue;
        if (!header) {
          std::fprintf(stdout, "  %s: %s\n", sc->name().c_str(), sc->describe().c_str());
          header = true;
        }
        std::fprintf(stdout, "    %s: %s (%llu iterations, none for %.1f s; %s)\n",
                     w->name().c_str(), w->phase(), static_cast<unsigned long long>(w->ops()), idle,
                     kernel_state(w->tid()).c_str());
        stuck_workers.push_back(&s);
      }
    }
    for (const std::string& d : failures.details()) std::fprintf(stdout, "  %s\n", d.c_str());
    std::fflush(stdout);
    watch_after_stuck(stuck_workers);
    std::fprintf(stdout, "exitleft-soak: FAILED (stuck)\n");
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(1);  // the stuck threads cannot be joined
  }

 private:
  struct Seen {
    const Worker* worker;
    std::uint64_t ops;
    Clock::time_point since;
  };
  Seen& find(const Worker* w) {
    for (Seen& s : seen_) {
      if (s.worker == w) return s;
    }
    return seen_.front();
  }

  // Watches the stuck threads for one more stall timeout and says of each whether it moved again
  // (a stall: a thread starved of CPU, or a wake-up that came late) or not (a lost wake-up or a
  // deadlock), and how often the kernel had it runnable meanwhile: a thread that sleeps in the
  // kernel all along waits for a wake-up nobody sends; one that is runnable waits for a CPU. Every
  // stuck thread is watched to the end: when the whole process was starved for a while (a loaded
  // machine, a paused VM), most of them move again at once, and one that does not is still named.
  void watch_after_stuck(const std::vector<Seen*>& stuck) {
    struct Watch {
      const Seen* seen;
      double moved_after_s = -1;  // < 0: has not moved
      std::size_t samples = 0, runnable = 0;
    };
    std::vector<Watch> watches;
    for (const Seen* s : stuck) watches.push_back({s});
    const Clock::time_point t0 = Clock::now();
    while (seconds_since(t0) < limit_s_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      for (Watch& w : watches) {
        if (w.moved_after_s >= 0) continue;
        if (w.seen->worker->ops() != w.seen->ops) {
          w.moved_after_s = seconds_since(t0);
          continue;
        }
        ++w.samples;
        if (kernel_state(w.seen->worker->tid()).rfind("kernel: R", 0) == 0) ++w.runnable;
      }
    }
    for (const Watch& w : watches) {
      const char* name = w.seen->worker->name().c_str();
      if (w.moved_after_s >= 0) {
        std::fprintf(stdout,
                     "  %s moved again %.1f s later (runnable in %zu of %zu samples): a stall, "
                     "not a lost wake-up\n",
                     name, w.moved_after_s, w.runnable, w.samples);
      } else {
        std::fprintf(stdout,
                     "  %s: still no progress %.0f s later (runnable in %zu of %zu samples)\n",
                     name, limit_s_, w.runnable, w.samples);
      }
    }
  }

  const std::vector<std::unique_ptr<Scenario>>& scenarios_;
  const double limit_s_;
  std::vector<Seen> seen_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const bool progress = !options.quiet && isatty(STDOUT_FILENO) == 1;

  Failures failures;
  std::vector<std::unique_ptr<Scenario>> scenarios;
  scenarios.push_back(make_auto_reset(options, failures));
  scenarios.push_back(make_manual_reset(options, failures));
  scenarios.push_back(make_semaphore(options, failures));
  scenarios.push_back(make_countdown(options, failures));
  scenarios.push_back(make_multi_wait(options, failures));
  scenarios.push_back(make_stage(options, failures));
  scenarios.push_back(make_parking_lot(options, failures));
  scenarios.push_back(make_c_api(options, failures));

  const Clock::time_point start = Clock::now();
  for (auto& s : scenarios) s->start();
  std::size_t threads = 0;
  for (const auto& s : scenarios) threads += s->workers().size();
  if (!options.quiet) {
    std::printf(
        "exitleft-soak: %.1f s, seed 0x%016llx, %u threads per role, %zu scenarios on "
        "%zu threads\n",
        options.duration_s, static_cast<unsigned long long>(options.seed), options.threads,
        scenarios.size(), threads);
    std::fflush(stdout);
  }

  Watchdog watchdog(scenarios, options.stall_timeout_s);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.duration_s));
  bool stop_requested = false;
  Clock::time_point next_line = start + std::chrono::seconds(1);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    watchdog.check(failures);
    if (!stop_requested && Clock::now() >= end) {
      for (auto& s : scenarios) s->request_stop();
      stop_requested = true;
    }
    bool done = stop_requested;
    for (const auto& s : scenarios) done = done && s->all_done();
    if (progress && (Clock::now() >= next_line || done)) {
      next_line += std::chrono::seconds(1);
      std::string line = "\r" + std::to_string(static_cast<int>(seconds_since(start))) + "/" +
                         std::to_string(static_cast<int>(std::ceil(options.duration_s))) + " s";
      for (const auto& s : scenarios) line += "  " + s->name() + " " + short_count(s->headline());
      if (stop_requested) line += "  (stopping)";
      line += "\x1b[K";  // erase what a longer line before left
      std::fputs(line.c_str(), stdout);
      std::fflush(stdout);
    }
    if (done) break;
  }
  if (progress) std::fputs("\n", stdout);
  for (auto& s : scenarios) s->join();
  for (auto& s : scenarios) s->verify();

  std::uint64_t iterations = 0;
  for (const auto& s : scenarios) {
    for (const auto& w : s->workers()) iterations += w->ops();
  }
  if (!options.quiet) {
    for (const auto& s : scenarios) {
      std::printf("  %-12s %s\n", s->name().c_str(), s->summary().c_str());
    }
  }
  const double elapsed = seconds_since(start);
  if (failures.count() == 0) {
    std::printf(
        "exitleft-soak: OK: no lost or duplicated signals, every check passed (%.1f s, "
        "%llu operations)\n",
        elapsed, static_cast<unsigned long long>(iterations));
    return 0;
  }
  std::printf("exitleft-soak: FAILED: %zu problems (seed 0x%016llx)\n", failures.count(),
              static_cast<unsigned long long>(options.seed));
  for (const std::string& d : failures.details()) std::printf("  %s\n", d.c_str());
  return 1;
}
