// Multi-object waits against single-object waits in the same run (issue 6).
//
//   BM_SingleWait                    set() + wait() on one AutoResetEvent (signalled: no block)
//   BM_WaitAny/<N>/<pos>             wait_any over N events when one (the first or the last) is
//                                    signalled; ratio against BM_SingleWait
//   BM_SetReset/<registered>         set() + reset() on an event, without (0) and with (1) a
//                                    wait-all registered on it that cannot complete: what the
//                                    MULTI bit costs the objects a multi-waiter sleeps on
//
// tools/bench-ratios.py --builtin <json> prints the ratios.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "exitleft/wait.hpp"

namespace {

void BM_SingleWait(benchmark::State& state) {
  exitleft::AutoResetEvent e;
  for (auto _ : state) {
    e.set();
    e.wait();
  }
}
BENCHMARK(BM_SingleWait)->Apply(exitleft::bench::add_min_statistic);

void BM_WaitAny(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool last = state.range(1) != 0;
  std::vector<std::unique_ptr<exitleft::AutoResetEvent>> events;
  std::vector<exitleft::WaitableRef> refs;
  for (std::size_t i = 0; i < n; ++i) {
    events.push_back(std::make_unique<exitleft::AutoResetEvent>());
    refs.emplace_back(*events.back());
  }
  exitleft::AutoResetEvent& signalled = last ? *events.back() : *events.front();
  for (auto _ : state) {
    signalled.set();
    benchmark::DoNotOptimize(exitleft::wait_any(std::span<const exitleft::WaitableRef>(refs)));
  }
}
BENCHMARK(BM_WaitAny)
    ->ArgsProduct({{2, 8, 64}, {0, 1}})
    ->ArgNames({"objects", "last"})
    ->Apply(exitleft::bench::add_min_statistic);

void BM_SetReset(benchmark::State& state) {
  exitleft::AutoResetEvent e, never;
  std::atomic<bool> stop{false};
  std::thread waiter;
  if (state.range(0) != 0) {
    // A wait-all on {e, never} stays registered on e (never is never set).
    waiter = std::thread([&] {
      while (!stop.load()) exitleft::wait_all_for(std::chrono::milliseconds(50), {e, never});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto _ : state) {
    e.set();
    e.reset();
  }
  stop.store(true);
  if (waiter.joinable()) waiter.join();
}
BENCHMARK(BM_SetReset)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("registered")
    ->Apply(exitleft::bench::add_min_statistic);

}  // namespace

BENCHMARK_MAIN();
