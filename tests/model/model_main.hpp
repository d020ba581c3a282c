// The harness of every Relacy model program: a list of named cases, each a Relacy test suite
// run with a chosen scheduler, and each either a correct model that must pass or a model with a
// seeded bug that Relacy must catch (a model checker that finds nothing proves nothing until it
// is seen to find the bugs it should).
//
//   int main(int argc, char** argv) {
//     using namespace exitleft::model;
//     return run_models(argc, argv, {
//         expect_pass<NoLostWakeup>("lot.no_lost_wakeup", bounded(2)),
//         expect_fail<ValidateOutsideLock>("seeded.validate_outside_lock",
//                                          rl::test_result_deadlock, randomly(100'000)),
//     });
//   }
//
// One line per case: name, scheduler, iterations, result, time. The program exits nonzero if a
// correct model fails (Relacy's execution history of the failing iteration is printed: it is
// the debugging aid) or if a seeded bug is not caught, or is caught as a different failure than
// the one it seeds (whose history is printed too). Relacy's output for seeded bugs that are
// caught as expected is silenced.
//
// Arguments: substrings; only cases whose name contains one of them run. `--list` lists the
// cases; `--show` also prints Relacy's report of the seeded bugs caught as expected (to see how
// a bug was caught).
//
// This header includes relacy_sync.hpp: include it first in a model program.
#pragma once

// Standard headers the harness needs, before relacy.hpp defines its `new`/`delete` macros.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "tests/model/relacy_sync.hpp"

namespace exitleft::model {

// How Relacy searches one case.
struct Schedule {
  rl::scheduler_type_e type = rl::sched_random;
  // sched_random: how many iterations. The tree searches (sched_bound, sched_full) run until
  // they have explored every schedule within their bound, and ignore it.
  rl::iteration_t iterations = 0;
  unsigned context_bound = 0;  // sched_bound: preemptions per iteration
  // Scheduling points per iteration before Relacy reports a livelock. The word lock's spinning
  // (every pause is a yield) and timed waits that may time out over and over make iterations
  // long; a genuine livelock still exceeds any limit.
  unsigned depth_limit = 20'000;
  // Whether futex waits may wake spuriously (RelacySync::spurious_wakeups); see no_spurious().
  bool spurious_wakeups = true;
  // Whether the model's clock runs, so that every unpark says be_fair (RelacySync::clock_runs);
  // see fair().
  bool clock_runs = false;

  std::string describe() const {
    std::string name;
    switch (type) {
      case rl::sched_random:
        name = "random";
        break;
      case rl::sched_bound:
        name = "bound(" + std::to_string(context_bound) + ")";
        break;
      case rl::sched_full:
        name = "full";
        break;
      default:
        name = "?";
        break;
    }
    if (!spurious_wakeups) name += ",quiet";
    if (clock_runs) name += ",fair";
    return name;
  }
};

// The schedule kinds are types of their own, so that a case instantiates Relacy's machinery for
// its one scheduler (simulate_with below); Relacy's rl::simulate instantiates all three.
template <template <rl::thread_id_t> class Sched>
struct ScheduleOf : Schedule {
  template <rl::thread_id_t N>
  using Scheduler = Sched<N>;
};
using RandomSchedule = ScheduleOf<rl::random_scheduler>;
using BoundedSchedule = ScheduleOf<rl::context_bound_scheduler>;
using FullSchedule = ScheduleOf<rl::full_search_scheduler>;

// `iterations` random schedules.
inline RandomSchedule randomly(rl::iteration_t iterations) {
  return {{rl::sched_random, iterations, 0, Schedule{}.depth_limit, true, false}};
}
// Every schedule with at most `context_bound` preemptions (and every choice of value read,
// time-out and spurious wake-up along them): exhaustive within the bound.
inline BoundedSchedule bounded(unsigned context_bound) {
  return {{rl::sched_bound, 0, context_bound, Schedule{}.depth_limit, true, false}};
}
// Every schedule. Only for tiny models without loops: spurious wake-ups and spinning make the
// tree of most models unbounded.
inline FullSchedule exhaustive() {
  return {{rl::sched_full, 0, 0, Schedule{}.depth_limit, true, false}};
}
// `schedule` without spurious futex wake-ups ("quiet" in the case's line). A thread blocked in
// an untimed wait then stays blocked until it is woken, which bounds the tree of a model without
// other loops, so that exhaustive() and larger context bounds finish. Spurious wake-ups are still
// worth exploring (the code must tolerate them): keep a random variant of such cases with them.
template <class S>
S no_spurious(S schedule) {
  schedule.spurious_wakeups = false;
  return schedule;
}

// `schedule` with a running clock ("fair" in the case's line): every unpark says be_fair, so the
// fair branch of a primitive (Semaphore's direct hand-off) is the one explored.
template <class S>
S fair(S schedule) {
  schedule.clock_runs = true;
  return schedule;
}

// rl::simulate<Suite> with one scheduler: the same runs (and the same second run that records
// the history of a failure), without instantiating the two schedulers the case does not use,
// which made up two thirds of the models' compile time.
template <class Suite, class Sched>
bool simulate_with(rl::test_params& params) {
  const char* name = typeid(Suite).name();
  while (*name >= '0' && *name <= '9') ++name;
  params.test_name = name;
  *params.output_stream << params.test_name << std::endl;
  rl::ostringstream out;
  const rl::test_result_e result = rl::run_test<Suite, Sched>(params, out, false);
  if (result != rl::test_result_success && !params.output_history && !params.collect_history) {
    rl::ostringstream again;
    params.initial_state = out.str();
    params.collect_history = true;
    params.final_state = out.str();
    const rl::iteration_t stop = params.stop_iteration;
    const rl::test_result_e replayed = rl::run_test<Suite, Sched>(params, again, true);
    RL_VERIFY(replayed == result);  // the replay must be deterministic (as in rl::simulate)
    RL_VERIFY(params.stop_iteration == stop);
    (void)replayed;
    (void)stop;
  }
  return Suite::params::expected_result == result;
}

// The lot of every model of a primitive has one bucket. The primitives park on their own
// addresses, and which of them share a bucket of a larger lot depends on where the suite lands in
// memory (with ASLR, from run to run); Relacy replays a failing iteration to print its history,
// and a replay that takes other buckets than the run it replays diverges (and has crashed
// Relacy). With one bucket every key shares it.
inline constexpr std::size_t kBuckets = 1;

// A finite timeout for the public _for() calls, and the same as a steady deadline for the
// internal ones: the futex wait is timed and Relacy decides when it times out
// (RelacySync::now() stays at the epoch, so the deadline never passes by itself).
inline constexpr std::chrono::hours kTimeout{1};
inline constexpr exitleft::detail::SteadyTime kTimed{kTimeout};

// Spins (with scheduling points) until `pred` holds.
template <class Pred>
void await(Pred&& pred) {
  while (!pred()) rl::yield(1, RL_INFO);
}

struct ModelCase {
  std::string name;
  bool must_pass = true;
  rl::test_result_e seeded = rl::test_result_success;  // the failure a seeded bug must cause
  Schedule schedule;
  bool (*simulate)(rl::test_params&) = nullptr;
};

template <class Suite, class S>
ModelCase expect_pass(std::string name, S schedule) {
  return {std::move(name), true, rl::test_result_success, schedule,
          &simulate_with<Suite, typename S::template Scheduler<Suite::params::thread_count>>};
}

// `Suite` carries a seeded bug; Relacy must report it as `failure` (a deadlock, a data race, a
// failed assertion, ...).
template <class Suite, class S>
ModelCase expect_fail(std::string name, rl::test_result_e failure, S schedule) {
  return {std::move(name), false, failure, schedule,
          &simulate_with<Suite, typename S::template Scheduler<Suite::params::thread_count>>};
}

namespace harness_detail {

inline bool selected(const ModelCase& c, int argc, char** argv) {
  bool any_filter = false;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    any_filter = true;
    if (c.name.find(argv[i]) != std::string::npos) return true;
  }
  return !any_filter;
}

// Runs one case; prints its line (and Relacy's report when it is needed, or with `show` whenever
// the case failed). True if as expected.
inline bool run_case(const ModelCase& c, bool show) {
  rl::ostringstream relacy_output;  // raw_allocator: safe to grow while Relacy runs
  rl::ostringstream progress;       // discarded
  rl::test_params params;
  params.search_type = c.schedule.type;
  params.iteration_count = c.schedule.iterations;
  params.context_bound = c.schedule.context_bound;
  params.execution_depth_limit = c.schedule.depth_limit;
  params.output_stream = &relacy_output;
  params.progress_stream = &progress;

  // Announced first: a case that runs too long is then named by ctest's output when its
  // TIMEOUT kills the program.
  std::printf("[ RUN  ] %s\n", c.name.c_str());
  std::fflush(stdout);
  RelacySync::spurious_wakeups = c.schedule.spurious_wakeups;
  RelacySync::clock_runs = c.schedule.clock_runs;
  const auto start = std::chrono::steady_clock::now();
  c.simulate(params);
  RelacySync::spurious_wakeups = true;
  RelacySync::clock_runs = false;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();

  const rl::test_result_e expected = c.must_pass ? rl::test_result_success : c.seeded;
  const bool as_expected = params.test_result == expected;
  // Relacy's stop_iteration is the number of iterations explored, or the index of the failing
  // one.
  const bool failed = params.test_result != rl::test_result_success;
  const unsigned long long iterations = params.stop_iteration + (failed ? 1 : 0);
  std::string result = rl::test_result_str(params.test_result);
  if (!c.must_pass && as_expected) result += " (seeded)";
  std::printf("[%s] %-44s %-4s %-15s %10llu iterations  %-26s %7lld ms\n",
              as_expected ? "  OK  " : "FAILED", c.name.c_str(), c.must_pass ? "pass" : "bug",
              c.schedule.describe().c_str(), iterations, result.c_str(),
              static_cast<long long>(ms));
  if (!as_expected || (show && failed)) {
    if (!failed) {
      std::printf("    the seeded bug (%s) was not caught\n", rl::test_result_str(expected));
    } else {
      if (!as_expected && !c.must_pass) {
        std::printf("    the seeded bug should cause %s\n", rl::test_result_str(expected));
      }
      // Relacy prints the value of an atomic byte as a char: a state of 0 is a NUL, which would
      // end a %s. Print every byte, with control characters as \ooo.
      std::string report;
      for (const char ch : relacy_output.str()) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte < 0x20 && ch != '\n' && ch != '\t') {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\%03o", byte);
          report += escaped;
        } else {
          report += ch;
        }
      }
      std::printf("---- Relacy's report ----\n%s---- end of Relacy's report ----\n",
                  report.c_str());
    }
  }
  std::fflush(stdout);
  return as_expected;
}

}  // namespace harness_detail

inline int run_models(int argc, char** argv, std::initializer_list<ModelCase> cases) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--list") == 0) {
      for (const ModelCase& c : cases) std::printf("%s\n", c.name.c_str());
      return 0;
    }
  }
  bool show = false;
  for (int i = 1; i < argc; ++i) show = show || std::strcmp(argv[i], "--show") == 0;
  int run = 0;
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const ModelCase& c : cases) {
    if (!harness_detail::selected(c, argc, argv)) continue;
    ++run;
    if (!harness_detail::run_case(c, show)) ++failed;
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  std::printf("%d case(s), %d failed, %.1f s\n", run, failed, seconds.count());
  if (run == 0) {
    std::printf("no case matches the arguments\n");
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace exitleft::model
