// SpinWait's algorithm, written against a sync policy (see std_sync.hpp) so that the parking
// lot's word lock can spin under Relacy too.
#pragma once

#include <cstdint>

namespace exitleft::detail {

template <class Sync>
class BasicSpinWait {
 public:
  // Pause rounds of 2, 4, 8, ... CPU pauses come first, then rounds that yield the thread.
  static constexpr std::uint32_t kPauseRounds = 4;
  static constexpr std::uint32_t kRounds = 10;

  // Spins one round. Returns false when spinning is over and the caller should block
  // (at once on a machine with one CPU, where the thread we wait for cannot run meanwhile).
  bool spin() noexcept {
    if (rounds_ >= kRounds || !Sync::multi_core()) return false;
    ++rounds_;
    if (rounds_ <= kPauseRounds) {
      for (std::uint32_t i = 0; i < (1u << rounds_); ++i) Sync::pause();
    } else {
      Sync::yield();
    }
    return true;
  }

  // Spins one round of CPU pauses without ever yielding; the rounds stop growing at the limit.
  // For short waits on a state that another running thread is about to change.
  void spin_no_yield() noexcept {
    if (rounds_ < kRounds) ++rounds_;
    for (std::uint32_t i = 0; i < (1u << rounds_); ++i) Sync::pause();
  }

  void reset() noexcept { rounds_ = 0; }

 private:
  std::uint32_t rounds_ = 0;
};

}  // namespace exitleft::detail
