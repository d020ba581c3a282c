// The one park loop of every signal wait: RawEvent's wait_one / wait_all, Semaphore's acquire and
// CountdownEvent's wait. Each primitive describes its state word with a small Signal type (see
// below) and calls signal_wait(); the loop, and the argument why it loses no wake-up, are here
// once.
//
// A Signal provides:
//   Word, kParked, kMulti       its state word's type and two flags: PARKED (a thread may be
//                               parked on key()) and MULTI (a multi-object wait is registered)
//   word(), key(), target()     the state word, the address waiters park on (the object), and the
//                               object as the multi-wait engine sees it
//   signalled(Word)             does this state let the wait return?
//   take(Word& s)               one attempt to take what `s` shows signalled: a consuming wait
//                               compare-exchanges the signal away (acquire), false with `s`
//                               reloaded if that lost a race; an observing wait returns true
//   granted(ParkToken)          did the wake-up bring the signal (a hand-off or a broadcast)?
//   last_look()                 after a timeout: the primitive's own try (a signal that came as
//                               the deadline passed is still taken)
//
// Ordering, once for every signal wait:
// - The signal's payload is published by release RMWs on the state word and received by the
//   acquire loads and compare-exchanges here, or, for a wake-up that brings the signal, by the
//   lot: the unparker's callback runs under the bucket lock and the lot releases the woken thread
//   with a release store that the thread acquires.
// - PARKED is set by a waiter with a compare-exchange whose order does not matter (acquire on
//   failure only because the state it reads next may be the signal) and re-checked by `validate`
//   under the bucket lock. Every change a signaller makes while PARKED is set happens under that
//   same lock (inside an unpark callback) or is an RMW that validate cannot miss. So a waiter
//   either sees the signal in validate (and does not sleep) or is queued before the signaller
//   looks (and is woken): no lost wake-up (E1).
// - PARKED is only cleared under the bucket lock, by whoever knows no thread is queued any more
//   (an unparker that emptied the queue, the last waiter timing out), and only with an RMW on that
//   bit: a concurrent signal is never erased (E4).
// - While MULTI is set every change goes through the multi-wait engine (detail/multi_wait.hpp);
//   the wait asks the engine to take the signal or to hand out a park token that orders it among
//   multi-object waiters.
#pragma once

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/parking_lot.hpp"
#include "src/async/async_node.hpp"

namespace exitleft::detail {

template <class Sync, bool Spin, class Signal>
bool signal_wait(Signal signal, SteadyTime deadline) noexcept {
  using Word = typename Signal::Word;
  // Pause-only spins: a signal wait never calls sched_yield (basic_spin_wait.hpp says why).
  BasicSpinWait<Sync, SpinTail::Pause> spin;
  BasicSpinWait<Sync, SpinTail::Yield> contention;  // backs off after lost races
  auto& word = signal.word();
  const auto passed = [deadline] { return deadline != kNoDeadline && deadline <= Sync::now(); };
  // acquire: pairs with the release RMWs that signal (see the ordering above).
  Word s = word.load(std::memory_order_acquire);
  for (;;) {
    parking_lot::ParkToken token = parking_lot::DEFAULT_PARK_TOKEN;
    if (s & Signal::kMulti) {
      // A multi-object wait is registered: take the signal, or queue, through the engine.
      const auto a = multi_engine<Sync>().single_attempt(signal.target());
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kSignalled) return true;
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kRetry) {  // MULTI went away: lock-free
        s = word.load(std::memory_order_acquire);
        continue;
      }
      if (passed()) return false;
      token = static_cast<parking_lot::ParkToken>(a.token);
    } else if (Signal::signalled(s)) {
      if (signal.take(s)) return true;
      // Lost a race: `s` is the state that won. If it still shows a signal (units of a semaphore
      // that threads compete for), back off before the next attempt: attempts in a tight loop
      // keep the cache line from the threads that release, and moving units between two threads
      // took 2-3x std::counting_semaphore's time (bench/events_bench.cpp). The later rounds
      // yield, so that the releasing threads can run on this CPU.
      if (Signal::signalled(s) && !contention.spin()) Sync::yield();
      continue;
    } else if (passed()) {
      return false;
    } else if (!(s & Signal::kParked)) {
      // Nobody is parked: spin a little, a signal may be moments away. (With waiters parked a
      // signal goes to them first, so spinning would not help.)
      if (Spin && spin.spin()) {
        s = word.load(std::memory_order_acquire);
        continue;
      }
      // acquire (on failure): the state we look at next may be the signal, as the loads above.
      if (!word.compare_exchange_weak(s, static_cast<Word>(s | Signal::kParked),
                                      std::memory_order_acquire, std::memory_order_acquire)) {
        continue;
      }
    }
    const parking_lot::ParkResult r = Sync::park(
        signal.key(),
        [&word] {
          // relaxed: under the bucket lock (see the ordering above).
          const Word now = word.load(std::memory_order_relaxed);
          return !Signal::signalled(now) && (now & Signal::kParked) != 0;
        },
        [] {},
        [&word](const void*, bool was_last) {
          // relaxed: under the bucket lock. Only PARKED is cleared: a signal that raced with this
          // timeout stays (rsevents 0.3.1 stored 0 here and erased it).
          if (was_last)
            word.fetch_and(static_cast<Word>(~Signal::kParked), std::memory_order_relaxed);
        },
        token, deadline);
    // Any other wake-up is a hint: the lot is public, and anyone may unpark any address (the
    // tests do, to make spurious wake-ups). The loop looks at the state again.
    if (r.kind == parking_lot::ParkResult::Kind::Unparked && signal.granted(r.token)) return true;
    if (r.kind == parking_lot::ParkResult::Kind::TimedOut) return signal.last_look();
    spin.reset();
    s = word.load(std::memory_order_acquire);
  }
}

// The same wait for a coroutine (include/exitleft/async.hpp, src/async/async_node.hpp): one step
// that takes the signal, or queues `node` where the loop above would park, and returns at once.
// The ordering argument above holds as it is: the same loads and compare-exchanges, the same
// validate under the bucket lock (which also refuses to queue a cancelled node), the same
// PARKED rules; the lot's unparker writes the node's token under the bucket lock and reads it
// back on its own thread (on_unpark), so a hand-off's acquire side is the unparker's own RMW.
// `woken`: the node was just taken off the queue by an unparker, with its unpark_token.
template <class Sync, class Signal>
AsyncStep signal_wait_async(Signal signal, AsyncWaitNode<Sync>& node, bool woken) noexcept {
  using Word = typename Signal::Word;
  if (woken && signal.granted(node.unpark_token.load())) return AsyncStep::kSignalled;
  auto& word = signal.word();
  // acquire: pairs with the release RMWs that signal.
  Word s = word.load(std::memory_order_acquire);
  for (;;) {
    // relaxed: see AsyncWaitNode::cancelled.
    if (node.cancelled.load(std::memory_order_relaxed)) return AsyncStep::kCancelled;
    parking_lot::ParkToken token = parking_lot::DEFAULT_PARK_TOKEN;
    if (s & Signal::kMulti) {
      const auto a = multi_engine<Sync>().single_attempt(signal.target());
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kSignalled) return AsyncStep::kSignalled;
      if (a.kind == MultiWaitEngine<Sync>::Attempt::kRetry) {
        s = word.load(std::memory_order_acquire);  // acquire: as above
        continue;
      }
      token = static_cast<parking_lot::ParkToken>(a.token);
    } else if (Signal::signalled(s)) {
      if (signal.take(s)) return AsyncStep::kSignalled;
      continue;  // lost a race: `s` is the state that won
    } else if (!(s & Signal::kParked)) {
      // acquire (on failure): as in signal_wait().
      if (!word.compare_exchange_weak(s, static_cast<Word>(s | Signal::kParked),
                                      std::memory_order_acquire, std::memory_order_acquire)) {
        continue;
      }
    }
    const bool queued = Sync::park_async(
        node, signal.key(),
        [&word, &node] {
          // relaxed: under the bucket lock (see the ordering above).
          const Word now = word.load(std::memory_order_relaxed);
          return !node.cancelled.load(std::memory_order_relaxed) && !Signal::signalled(now) &&
                 (now & Signal::kParked) != 0;
        },
        token);
    if (queued) return AsyncStep::kQueued;
    s = word.load(std::memory_order_acquire);  // acquire: as above
  }
}

// Takes a cancelled coroutine's node off its queue if no unparker has: true if removed (the wait
// yields false, nothing was taken). As a thread's timeout, it clears only PARKED, and only when no
// other waiter is left.
template <class Sync, class Signal>
bool signal_cancel_async(Signal signal, AsyncWaitNode<Sync>& node) noexcept {
  auto& word = signal.word();
  return Sync::cancel_async(node, signal.key(), [&word](const void*, bool was_last) {
    // relaxed: under the bucket lock, as in signal_wait()'s timed_out.
    if (was_last)
      word.fetch_and(static_cast<typename Signal::Word>(~Signal::kParked),
                     std::memory_order_relaxed);
  });
}

}  // namespace exitleft::detail
