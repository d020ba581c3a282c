// broadcast_if: a state change and a wake-up of every parked thread as one step under the
// parking lot's bucket lock.
//
// A primitive whose waiters observe a state (a manual-reset event, a countdown at zero) must make
// the change that releases them at the same moment it picks who to wake. Otherwise a waiter that
// arrives after the change was undone (set, reset, new waiter) would be woken by the stale
// broadcast and report a state it never saw. Under the bucket lock no thread can queue itself, so
// "everyone queued now" is exactly "everyone who waited before the change".
#pragma once

#include "exitleft/parking_lot.hpp"

namespace exitleft::detail {

// Runs `decide()` exactly once under the bucket lock of `key`; if it returns true, wakes every
// thread parked on `key` with `token`. Returns what decide() returned. decide() must be short,
// must not throw and must not call into the lot.
template <class Sync, class Decide>
bool broadcast_if(const void* key, Decide&& decide, parking_lot::UnparkToken token) noexcept {
  enum class Verdict { Undecided, Wake, Keep } verdict = Verdict::Undecided;
  auto decide_once = [&] {
    if (verdict == Verdict::Undecided) verdict = decide() ? Verdict::Wake : Verdict::Keep;
    return verdict == Verdict::Wake;
  };
  // The filter sees the first queued thread before the callback runs, so the decision is taken
  // there; with nobody queued the callback takes it. Both run under the bucket lock.
  Sync::unpark_filter(
      key,
      [&](parking_lot::ParkToken) {
        return decide_once() ? parking_lot::FilterOp::Unpark : parking_lot::FilterOp::Stop;
      },
      [&](parking_lot::UnparkResult) {
        decide_once();
        return token;
      });
  return verdict == Verdict::Wake;
}

}  // namespace exitleft::detail
