// An outside program that uses the installed exitleft through its public headers only:
// tools/check-install.sh builds it against an installed tree (find_package and pkg-config,
// static and shared) and runs it. It exits 0 when every check passed and 1 otherwise, printing
// each failure.
#include <exitleft/parking_lot.hpp>
#include <exitleft/spin_wait.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

namespace pl = exitleft::parking_lot;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

// A park whose deadline passes returns TimedOut after timed_out() ran, and not before the
// deadline.
void park_times_out() {
  int key = 0;
  const void* timed_out_key = nullptr;
  bool was_last = false;
  const auto start = Clock::now();
  const auto r = pl::park(
      &key, [] { return true; }, [] {},
      [&](const void* k, bool last) {
        timed_out_key = k;
        was_last = last;
      },
      pl::DEFAULT_PARK_TOKEN, start + 20ms);
  check(r.kind == pl::ParkResult::Kind::TimedOut, "a park with a 20 ms deadline times out");
  check(Clock::now() - start >= 20ms, "a timed-out park returns no earlier than its deadline");
  check(timed_out_key == &key, "timed_out() receives the key");
  check(was_last, "timed_out() reports the last thread on the key");
}

// One thread parks while `state` is 1; the other sets `state` to 2 and unparks it with a token.
// Both sides are bounded: the park and the wait for it end after 10 s.
void park_unpark_hand_off() {
  std::atomic<std::uint32_t> state{1};
  constexpr pl::UnparkToken kToken = 42;
  const auto deadline = Clock::now() + 10s;
  pl::ParkResult result{pl::ParkResult::Kind::Invalid, 0};
  std::atomic<bool> queued{false};

  std::thread parker([&] {
    result = pl::park(
        &state,
        // relaxed: the bucket lock orders this load against the unparker's store.
        [&] { return state.load(std::memory_order_relaxed) == 1; },
        // release: pairs with the acquire in the unparker's wait for `queued`.
        [&] { queued.store(true, std::memory_order_release); }, [](const void*, bool) {},
        pl::DEFAULT_PARK_TOKEN, deadline);
  });

  // acquire: pairs with the release in before_sleep(); the parker is queued on `state`.
  exitleft::SpinWait spin;
  while (!queued.load(std::memory_order_acquire) && Clock::now() < deadline) {
    if (!spin.spin()) std::this_thread::sleep_for(1ms);
  }
  check(queued.load(std::memory_order_acquire), "the parker reached before_sleep()");

  // relaxed: unpark_one() takes the bucket lock, which orders this store before the wake-up.
  state.store(2, std::memory_order_relaxed);
  // before_sleep() runs once the thread is queued, so this one call must find it.
  const auto woken = pl::unpark_one(&state, [&](pl::UnparkResult r) {
                       check(r.unparked_threads == 1 && !r.have_more_threads,
                             "the unpark callback sees one woken thread and none left");
                       return kToken;
                     }).unparked_threads;
  parker.join();
  check(woken == 1, "unpark_one() wakes the parked thread");
  check(result.kind == pl::ParkResult::Kind::Unparked, "the parked thread returns Unparked");
  check(result.token == kToken, "the parked thread receives the unparker's token");
  check(pl::unpark_all(&state, 0) == 0, "nothing is left parked on the key");
}

}  // namespace

int main() {
  park_times_out();
  park_unpark_hand_off();
  if (failures != 0) {
    std::fprintf(stderr, "consumer: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("consumer: all checks passed\n");
  return 0;
}
