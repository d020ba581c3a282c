// Stage: routed datagrams/s against the other ways to share one UDP socket, and notify latency
// (TARGETS.md P5). The modes are those of exitleft-udp-demux (tools/udp_demux/), run in-process.
//
//   BM_Route/<mode>/<W>/<N>        one run of a mode per iteration: W peers, W workers (2, 8, 32;
//                                  window 2 with 8), a window
//                                  of N datagrams in flight per peer; 80 000 datagrams in all
//                                  (at 20 000 the runs were short enough for thread start-up
//                                  to move the ratios).
//                                  The time is the run's own (first send to last delivery);
//                                  items/s = datagrams/s; counters: p50/p99 latency and the
//                                  receiving side's CPU us, context switches, futex and recvmmsg
//                                  calls per datagram (the calls only where counted: root). N = 0
//                                  is the tool's default (as many as the receive buffer holds, up
//                                  to 256: big batches, few wake-ups); N = 2 makes every other
//                                  datagram a wake-up.
//   BM_RouteRounds/<W>/<N>         each iteration runs stage, dispatcher, socket-per-peer,
//                                  single-reader and mutex-cv back to back (the order rotates)
//                                  and divides stage's datagrams/s by each: counters
//                                  stage_vs_<mode> are medians over iterations of those ratios,
//                                  the steadiest same-run figure; stage_cpu_vs_<mode> and
//                                  stage_switches_vs_<mode> the same for the receiving side's
//                                  CPU time and context switches per datagram. Goals (issue 11):
//                                  vs single-reader >= 0.9; CPU <= 0.9x dispatcher's and
//                                  mutex-cv's; switches <= 0.5x the dispatcher's.
//   BM_WakeParked/<kind>           a waiter is parked (it had 1 ms to get there); the time from
//                                  notify() / set() until it runs again
//   BM_PingPong/<kind>             two threads hand a token back and forth (bench_util.hpp):
//                                  Stage notify -> enter() returning Notified, vs AutoResetEvent
//   BM_Paired/StageNotify_vs_AutoReset  the same in alternating blocks; "ratio" = stage / event
//   BM_NotifyPending/<kind>        notify a ticket that is already notified (no waiter): the
//                                  table lookup + one atomic, vs set() of a set AutoResetEvent
//
// tools/bench-ratios.py prints ratios between any two of them, or of the counters, e.g.
//   tools/bench-ratios.py stage_bench.json 'w8=RouteRounds/8/0#stage_vs_dispatcher'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "exitleft/auto_reset_event.hpp"
#include "exitleft/stage.hpp"
#include "tools/udp_demux/demux.hpp"

namespace {

namespace udp = exitleft::udp_demux;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kDatagramsPerRun = 80'000;

udp::Config route_config(const benchmark::State& state) {
  udp::Config c;
  c.peers = static_cast<int>(state.range(0));
  c.workers = c.peers;
  c.window = static_cast<int>(state.range(1));
  c.datagrams = kDatagramsPerRun / static_cast<std::uint64_t>(c.peers);
  c.duration = std::chrono::duration<double>(60.0);
  return c;
}

// ---- routed datagrams/s ------------------------------------------------------------------------

using exitleft::bench::median;

// Context switches of both kinds.
double switches(const udp::ThreadCosts& c) {
  return static_cast<double>(c.voluntary + c.involuntary);
}

void BM_Route(benchmark::State& state, udp::Mode mode) {
  const udp::Config config = route_config(state);
  std::vector<double> p50, p99, cpu, sw, futex, recv;
  std::uint64_t delivered = 0;
  bool counted = true;
  for (auto _ : state) {
    const udp::Result r = udp::run(mode, config);
    if (!r.ok()) {
      state.SkipWithError(r.error.c_str());
      return;
    }
    state.SetIterationTime(r.seconds);
    delivered += r.delivered;
    p50.push_back(r.p50_us);
    p99.push_back(r.p99_us);
    // The receiving side's costs per datagram (tools/udp_demux/thread_costs.hpp).
    cpu.push_back(r.per_datagram(r.receiving.cpu_seconds * 1e6));
    sw.push_back(r.per_datagram(static_cast<double>(switches(r.receiving))));
    futex.push_back(r.per_datagram(static_cast<double>(r.receiving.futex)));
    recv.push_back(r.per_datagram(static_cast<double>(r.receiving.recvmmsg)));
    counted = counted && r.receiving.syscalls_counted;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));  // datagrams/s
  state.counters["p50_us"] = median(p50);
  state.counters["p99_us"] = median(p99);
  state.counters["cpu_us_per_dg"] = median(cpu);
  state.counters["switches_per_dg"] = median(sw);
  if (counted) {  // only where the kernel counted the system calls (root)
    state.counters["futex_per_dg"] = median(futex);
    state.counters["recvmmsg_per_dg"] = median(recv);
  }
}

void route_args(benchmark::internal::Benchmark* b) {
  for (const int workers : {2, 8, 32}) b->Args({workers, 0});
  b->Args({8, 2});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
  exitleft::bench::add_min_statistic(b);
}

BENCHMARK_CAPTURE(BM_Route, stage, udp::Mode::stage)->Apply(route_args);
BENCHMARK_CAPTURE(BM_Route, dispatcher, udp::Mode::dispatcher)->Apply(route_args);
BENCHMARK_CAPTURE(BM_Route, mutex_cv, udp::Mode::mutex_cv)->Apply(route_args);
BENCHMARK_CAPTURE(BM_Route, socket_per_peer, udp::Mode::socket_per_peer)->Apply(route_args);
BENCHMARK_CAPTURE(BM_Route, single_reader, udp::Mode::single_reader)->Apply(route_args);

void BM_RouteRounds(benchmark::State& state) {
  const udp::Config config = route_config(state);
  constexpr std::array modes{udp::Mode::stage, udp::Mode::dispatcher, udp::Mode::socket_per_peer,
                             udp::Mode::single_reader, udp::Mode::mutex_cv};
  constexpr std::size_t kModes = modes.size();
  // stage / mode per iteration: datagrams/s, and the receiving side's CPU and context switches
  // per datagram.
  std::array<std::vector<double>, kModes> ratios, cpu_ratios, switch_ratios;
  std::uint64_t delivered = 0;
  std::size_t rotation = 0;
  for (auto _ : state) {
    std::array<double, kModes> rate{}, cpu{}, sw{};
    double seconds = 0;
    for (std::size_t k = 0; k < kModes; ++k) {
      const std::size_t i = (k + rotation) % kModes;
      const udp::Result r = udp::run(modes[i], config);
      if (!r.ok()) {
        state.SkipWithError((std::string(udp::mode_name(modes[i])) + ": " + r.error).c_str());
        return;
      }
      rate[i] = r.rate;
      cpu[i] = r.per_datagram(r.receiving.cpu_seconds);
      sw[i] = r.per_datagram(switches(r.receiving));
      seconds += r.seconds;
      delivered += r.delivered;
    }
    ++rotation;
    for (std::size_t i = 1; i < kModes; ++i) {
      ratios[i].push_back(rate[0] / rate[i]);
      if (cpu[i] > 0) cpu_ratios[i].push_back(cpu[0] / cpu[i]);
      if (sw[i] > 0) switch_ratios[i].push_back(sw[0] / sw[i]);
    }
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
  for (std::size_t i = 1; i < kModes; ++i) {
    std::string name(udp::mode_name(modes[i]));
    std::replace(name.begin(), name.end(), '-', '_');
    state.counters["stage_vs_" + name] = median(ratios[i]);
    if (!cpu_ratios[i].empty()) state.counters["stage_cpu_vs_" + name] = median(cpu_ratios[i]);
    if (!switch_ratios[i].empty()) {
      state.counters["stage_switches_vs_" + name] = median(switch_ratios[i]);
    }
  }
}
BENCHMARK(BM_RouteRounds)->Apply(route_args);

// ---- notify latency
// ------------------------------------------------------------------------------

// A Stage whose head role is held for its whole life by a thread of its own, so that every other
// enter() waits (and parks) until it is notified.
class HeldStage {
 public:
  using S = exitleft::Stage<int, int>;

  HeldStage() {
    exitleft::AutoResetEvent headed;
    holder_ = std::thread([this, &headed] {
      auto ticket = *stage_.ticket(0);
      stage_.enter(ticket, [&](S::Director&) {
        headed.set();
        release_.wait();
      });
    });
    headed.wait();
  }
  ~HeldStage() {
    release_.set();
    holder_.join();
  }
  HeldStage(const HeldStage&) = delete;
  HeldStage& operator=(const HeldStage&) = delete;

  S& stage() noexcept { return stage_; }
  int new_token() noexcept { return next_token_.fetch_add(1, std::memory_order_relaxed); }

 private:
  S stage_{0};
  exitleft::AutoResetEvent release_;
  std::atomic<int> next_token_{1};
  std::thread holder_;
};

HeldStage* g_held = nullptr;  // set by the benchmarks below for the channels' constructors

// take() calls that slept to their 5 s deadline although the token had been given: lost
// wake-ups. A benchmark that sees one fails (SkipWithError) instead of hanging.
std::atomic<int> g_lost_wakeups{0};
constexpr auto kTakeLimit = std::chrono::seconds(5);

// A bench_util channel over a Stage ticket: give() notifies the ticket, take() enters the held
// stage and returns once it comes back Notified (a notification given first is kept: S2).
class StageNotifyChannel {
 public:
  StageNotifyChannel() : token_(g_held->new_token()), ticket_(*g_held->stage().ticket(token_)) {}
  void give() noexcept { g_held->stage().notify(token_); }
  void take() noexcept {
    for (;;) {
      const auto exit =
          g_held->stage().enter_for(ticket_, kTakeLimit, [](HeldStage::S::Director&) {});
      if (exit.kind() == decltype(exit)::Notified) return;
      // relaxed: a count read after the threads are joined.
      if (exit.kind() == decltype(exit)::TimedOut)
        g_lost_wakeups.fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  int token_;
  HeldStage::S::Ticket ticket_;
};

// Fails the benchmark if a take() slept to its deadline since `before`.
void check_lost_wakeups(benchmark::State& state, int before) {
  const int lost = g_lost_wakeups.load(std::memory_order_relaxed) - before;
  state.counters["lost_wakeups"] = lost;
  if (lost > 0) state.SkipWithError("a notify was lost: a take() slept to its 5 s deadline");
}

struct AutoResetChannel {
  void give() noexcept { event.set(); }
  void take() noexcept { event.wait(); }
  exitleft::AutoResetEvent event;
};

template <class Channel>
void BM_PingPong(benchmark::State& state) {
  HeldStage held;
  g_held = &held;
  const int lost_before = g_lost_wakeups.load(std::memory_order_relaxed);
  {
    Channel to_partner, to_main;
    exitleft::bench::ping_pong(state, to_partner, to_main);
  }
  g_held = nullptr;
  check_lost_wakeups(state, lost_before);
}
BENCHMARK(BM_PingPong<StageNotifyChannel>)
    ->Name("BM_PingPong/StageNotify")
    ->Apply(exitleft::bench::ping_pong_options);
BENCHMARK(BM_PingPong<AutoResetChannel>)
    ->Name("BM_PingPong/AutoReset")
    ->Apply(exitleft::bench::ping_pong_options);

void BM_PairedStageNotifyVsAutoReset(benchmark::State& state) {
  HeldStage held;
  g_held = &held;
  const int lost_before = g_lost_wakeups.load(std::memory_order_relaxed);
  exitleft::bench::paired_ping_pong<AutoResetChannel, StageNotifyChannel>(state);
  g_held = nullptr;
  check_lost_wakeups(state, lost_before);
}
BENCHMARK(BM_PairedStageNotifyVsAutoReset)
    ->Name("BM_Paired/StageNotify_vs_AutoReset")
    ->Apply(exitleft::bench::ping_pong_options);

// The waiter takes from `channel`, stamps the time and reports; the benchmark thread waits 1 ms
// (the waiter spins briefly, then parks), then gives, and sleeps until the waiter reports (so
// that it does not hold a CPU the waiter may need). The time is from give() to the stamp.
template <class Channel>
void BM_WakeParked(benchmark::State& state) {
  HeldStage held;
  g_held = &held;
  const int lost_before = g_lost_wakeups.load(std::memory_order_relaxed);
  {
    Channel channel;
    std::int64_t woke = 0;  // written by the waiter before done.set(), read after done.wait()
    std::atomic<bool> stop{false};
    exitleft::AutoResetEvent ready;
    exitleft::AutoResetEvent done;
    std::thread waiter([&] {
      for (;;) {
        ready.set();
        channel.take();
        woke = Clock::now().time_since_epoch().count();
        // acquire: pairs with the release store of `stop` below.
        const bool stopping = stop.load(std::memory_order_acquire);
        done.set();  // the event orders `woke` for the benchmark thread
        if (stopping) return;
      }
    });
    for (auto _ : state) {
      ready.wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const auto start = Clock::now();
      channel.give();
      done.wait();
      state.SetIterationTime(
          std::chrono::duration<double>(Clock::duration(woke) - start.time_since_epoch()).count());
    }
    ready.wait();
    stop.store(true, std::memory_order_release);  // release: pairs with the waiter's acquire
    channel.give();
    done.wait();
    waiter.join();
  }
  g_held = nullptr;
  check_lost_wakeups(state, lost_before);
}
BENCHMARK(BM_WakeParked<StageNotifyChannel>)
    ->Name("BM_WakeParked/StageNotify")
    ->UseManualTime()
    ->Apply(exitleft::bench::add_min_statistic);
BENCHMARK(BM_WakeParked<AutoResetChannel>)
    ->Name("BM_WakeParked/AutoReset")
    ->UseManualTime()
    ->Apply(exitleft::bench::add_min_statistic);

// A notify to a ticket that is already notified: no wake-up, no system call.
void BM_NotifyPendingStage(benchmark::State& state) {
  exitleft::Stage<int, int> stage(0);
  auto ticket = *stage.ticket(7);
  stage.notify(7);
  for (auto _ : state) benchmark::DoNotOptimize(stage.notify(7));
}
BENCHMARK(BM_NotifyPendingStage)
    ->Name("BM_NotifyPending/Stage")
    ->Apply(exitleft::bench::add_min_statistic);

void BM_NotifyPendingAutoReset(benchmark::State& state) {
  exitleft::AutoResetEvent event;
  for (auto _ : state) {
    event.set();
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_NotifyPendingAutoReset)
    ->Name("BM_NotifyPending/AutoReset")
    ->Apply(exitleft::bench::add_min_statistic);

}  // namespace

BENCHMARK_MAIN();
