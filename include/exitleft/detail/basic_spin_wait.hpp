// SpinWait's algorithm, written against a sync policy (see std_sync.hpp) so that the parking
// lot's word lock can spin under Relacy too.
#pragma once

#include <cstdint>

namespace exitleft::detail {

// How a spin loop spends its later rounds (the first ones always pause).
enum class SpinTail {
  // Yield the thread (sched_yield): lets a preempted lock holder run. The public SpinWait, and
  // the lot's locks.
  Yield,
  // Keep pausing, in bursts of kBurst pauses. For waits on a signal from another thread (events,
  // semaphores, countdowns, multi-waits). On Linux's EEVDF scheduler (6.6 and later) every
  // sched_yield() pushes the caller's virtual deadline one slice ahead, so a waiter that yielded
  // a few times and then parked is woken late whenever the waker's CPU is busy (README,
  // "Benchmarks", has the measured cost).
  Pause,
};

template <class Sync, SpinTail Tail = SpinTail::Yield>
class BasicSpinWait {
 public:
  // Pause rounds of 2, 4, 8, ... CPU pauses come first, then rounds that yield the thread (or,
  // with SpinTail::Pause, that pause kBurst times).
  static constexpr std::uint32_t kPauseRounds = 4;
  static constexpr std::uint32_t kRounds = 10;
  static constexpr std::uint32_t kBurst = 64;

  // Spins one round. Returns false when spinning is over and the caller should block
  // (at once on a machine with one CPU, where the thread we wait for cannot run meanwhile).
  bool spin() noexcept {
    if constexpr (Tail == SpinTail::Pause && requires { Sync::woken_beside_waker(); }) {
      // This thread's last wake-up came from a thread on its own CPU (src/lot/lot.hpp): the
      // thread that will signal most likely shares the CPU again and cannot run while we spin,
      // so park at once. Not a miss: spinning was not tried. Checked again after every park
      // (reset()), where the lot has just refreshed the hint.
      if (rounds_ == 0 && Sync::woken_beside_waker()) return false;
    }
    if (rounds_ >= limit_ || !Sync::multi_core()) {
      if constexpr (Tail == SpinTail::Pause) {
        if (!missed_ && misses_ < kMissesToShorten) ++misses_;
        missed_ = true;
      }
      return false;
    }
    ++rounds_;
    if (rounds_ <= kPauseRounds) {
      Sync::pause(1u << rounds_);
    } else if constexpr (Tail == SpinTail::Yield) {
      Sync::yield();
    } else {
      Sync::pause(kBurst);
    }
    return true;
  }

  // Spins one round of CPU pauses without ever yielding; the rounds stop growing at the limit.
  // For short waits on a state that another running thread is about to change.
  void spin_no_yield() noexcept {
    if (rounds_ < kRounds) ++rounds_;
    Sync::pause(1u << rounds_);
  }

  void reset() noexcept { rounds_ = 0; }

  BasicSpinWait() noexcept {
    // Adaptive (SpinTail::Pause): a thread whose last kMissesToShorten spins all ended in a park
    // keeps only the short pause rounds, except on every eighth wait, which probes with the full
    // spin again. Pause-only spinning never gives the CPU away, so when the thread that will
    // signal runs on the same CPU it cannot run while we spin: there every spin is a miss, and
    // the full one only adds its length to each hand-off (ping-pong between two threads kept on
    // one vCPU: 4x std::mutex + std::condition_variable with full spins).
    if constexpr (Tail == SpinTail::Pause) {
      if (misses_ >= kMissesToShorten && (++probe_ & 7u) != 0) limit_ = kPauseRounds;
    }
  }
  // A spin whose yielding tail stops after `yield_rounds` yields (SpinTail::Yield only).
  explicit BasicSpinWait(std::uint32_t yield_rounds) noexcept
      : limit_(kPauseRounds + yield_rounds) {
    static_assert(Tail == SpinTail::Yield, "a shorter tail only makes sense for yielding spins");
  }
  ~BasicSpinWait() {
    // A wait that spun and ended without a park: spinning pays off for this thread again.
    if constexpr (Tail == SpinTail::Pause) {
      if (rounds_ > 0 && !missed_) misses_ = 0;
    }
  }
  BasicSpinWait(const BasicSpinWait&) = delete;
  BasicSpinWait& operator=(const BasicSpinWait&) = delete;

 private:
  static constexpr std::uint8_t kMissesToShorten = 4;
  // Per thread: recent spins that ended in a park, and a counter for the probes.
  static inline thread_local std::uint8_t misses_ = 0;
  static inline thread_local std::uint8_t probe_ = 0;
  std::uint32_t rounds_ = 0;
  std::uint32_t limit_ = kRounds;
  bool missed_ = false;
};

}  // namespace exitleft::detail
