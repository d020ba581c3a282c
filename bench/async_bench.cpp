// Awaitable waits (issue 14): coroutines on exitleft objects against what an asio user would
// otherwise write, in the same run.
//
//   BM_SetTryWait                    AutoResetEvent set() + try_wait(): the floor
//   BM_SetAsyncWait                  set() + co_await async_wait() (A2: no suspension)
//                                    goal: within 2x BM_SetTryWait
//   BM_CoroutineHandOff/<kind>       two coroutines on one thread hand a token back and forth,
//                                    time per round trip:
//     exitleft        AutoResetEvent, async_wait (resumed inline, through the trampoline)
//     exitleft_asio   AutoResetEvent, exitleft/asio.hpp with asio::use_awaitable on an
//                     io_context (each completion posted to the executor)
//     asio_channel    asio::experimental::channel<void(std::error_code)>, capacity 1, on an
//                     io_context
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <system_error>
#include <utility>

#include "exitleft/asio.hpp"
#include "exitleft/async.hpp"

// asio 1.22 (Debian 12) cannot instantiate channel<void(std::error_code)> with standalone asio,
// where asio::error_code is std::error_code: its channel_traits<R(error_code, Args...)> and
// channel_traits<R(T)> are equally specialized. This full specialization, the same as the first
// with no Args, settles it (later asio versions need none).
template <>
struct asio::experimental::channel_traits<void(std::error_code)> {
  template <typename... NewSignatures>
  struct rebind {
    using other = channel_traits<NewSignatures...>;
  };
  template <typename Element>
  struct container {
    using type = std::deque<Element>;
  };
  using receive_cancelled_signature = void(std::error_code);
  template <typename F>
  static void invoke_receive_cancelled(F f) {
    const std::error_code e = asio::experimental::error::channel_cancelled;
    std::move(f)(e);
  }
  using receive_closed_signature = void(std::error_code);
  template <typename F>
  static void invoke_receive_closed(F f) {
    const std::error_code e = asio::experimental::error::channel_closed;
    std::move(f)(e);
  }
};

namespace {

// A coroutine that starts at once and is destroyed with its owner.
struct Task {
  struct promise_type {
    Task get_return_object() noexcept {
      return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
  Task(Task&& other) noexcept : handle(std::exchange(other.handle, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle) handle.destroy();
  }
  std::coroutine_handle<promise_type> handle;
};

void BM_SetTryWait(benchmark::State& state) {
  exitleft::AutoResetEvent e;
  for (auto _ : state) {
    e.set();
    benchmark::DoNotOptimize(e.try_wait());
  }
}
BENCHMARK(BM_SetTryWait);

void BM_SetAsyncWait(benchmark::State& state) {
  exitleft::AutoResetEvent e;
  auto body = [&]() -> Task {
    for (auto _ : state) {
      e.set();
      benchmark::DoNotOptimize(co_await exitleft::async_wait(e));
    }
  };
  Task t = body();
}
BENCHMARK(BM_SetAsyncWait);

constexpr std::int64_t kRoundTrips = 10'000;

// Two coroutines, resumed inline by each other's set(): the whole exchange runs inside the first
// set(), through the trampoline.
void BM_CoroutineHandOff_exitleft(benchmark::State& state) {
  for (auto _ : state) {
    exitleft::AutoResetEvent ping, pong;
    auto a = [&]() -> Task {
      for (std::int64_t i = 0; i < kRoundTrips; ++i) {
        co_await exitleft::async_wait(ping);
        pong.set();
      }
    };
    auto b = [&]() -> Task {
      for (std::int64_t i = 0; i < kRoundTrips; ++i) {
        co_await exitleft::async_wait(pong);
        ping.set();
      }
    };
    Task ta = a();
    Task tb = b();
    ping.set();
  }
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_CoroutineHandOff_exitleft)->Name("BM_CoroutineHandOff/exitleft");

void BM_CoroutineHandOff_exitleft_asio(benchmark::State& state) {
  for (auto _ : state) {
    asio::io_context io(1);
    exitleft::AutoResetEvent ping, pong;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (std::int64_t i = 0; i < kRoundTrips; ++i) {
            co_await exitleft::async_wait(ping, asio::use_awaitable);
            pong.set();
          }
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (std::int64_t i = 0; i < kRoundTrips; ++i) {
            co_await exitleft::async_wait(pong, asio::use_awaitable);
            ping.set();
          }
        },
        asio::detached);
    ping.set();
    io.run();
  }
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_CoroutineHandOff_exitleft_asio)->Name("BM_CoroutineHandOff/exitleft_asio");

void BM_CoroutineHandOff_asio_channel(benchmark::State& state) {
  using Channel = asio::experimental::channel<void(std::error_code)>;
  for (auto _ : state) {
    asio::io_context io(1);
    Channel ping(io, 1), pong(io, 1);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (std::int64_t i = 0; i < kRoundTrips; ++i) {
            co_await ping.async_receive(asio::use_awaitable);
            pong.try_send(std::error_code{});
          }
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (std::int64_t i = 0; i < kRoundTrips; ++i) {
            co_await pong.async_receive(asio::use_awaitable);
            ping.try_send(std::error_code{});
          }
        },
        asio::detached);
    ping.try_send(std::error_code{});
    io.run();
  }
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_CoroutineHandOff_asio_channel)->Name("BM_CoroutineHandOff/asio_channel");

}  // namespace

BENCHMARK_MAIN();
