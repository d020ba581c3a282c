// BasicStageCore's slow paths; the protocol and its ordering are described in
// include/exitleft/detail/stage_core.hpp.
#pragma once

#include <cassert>

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/stage/stage_core.hpp"
#include "exitleft/parking_lot.hpp"

namespace exitleft::detail {

template <class Sync, bool Spin>
auto BasicStageCore<Sync, Spin>::enter(Seat& seat, SteadyTime deadline) noexcept -> Entry {
  if (take_notification(seat)) return Entry::Notified;  // S2 comes first
  lock_.lock();
  if (!headed_.load()) {
    headed_.store(true);  // S3: an idle stage is headed at once, whatever the deadline
    lock_.unlock();
    return Entry::Head;
  }
  if (deadline != kNoDeadline && deadline <= Sync::now()) {
    lock_.unlock();
    return Entry::TimedOut;
  }
  append(seat);
  lock_.unlock();
  return wait_for_turn(seat, deadline);
}

template <class Sync, bool Spin>
auto BasicStageCore<Sync, Spin>::wait_for_turn(Seat& seat, SteadyTime deadline) noexcept -> Entry {
  // Yielding spins: a stage has many more waiters than CPUs, and the head they wait for needs a
  // CPU; pause-only spins would keep it from one. But few yields: with many followers, every
  // yield that finds another runnable thread is a context switch, and a long yielding tail costs
  // more switches than the parks it saves (docs/bench/stage-scaling.md has the figures).
  BasicSpinWait<Sync> spin(kFollowerYields);
  for (;;) {
    // acquire: pairs with the release in notify() and with the release that sets PROMOTED in
    // leave() (the old head's work with the resource happens before ours).
    const std::uint32_t s = seat.state.load(std::memory_order_acquire);
    if (s & Seat::kNotified) return leave_queue(seat, Entry::Notified);
    if (s & Seat::kPromoted) {
      // relaxed: only this thread clears it; the acquire above already synchronized.
      seat.state.fetch_and(~Seat::kPromoted, std::memory_order_relaxed);
      return Entry::Head;
    }
    if (Spin && spin.spin()) continue;
    const parking_lot::ParkResult r = Sync::park(
        &seat,
        [&seat] {
          // Under the bucket lock of &seat, which notify's and leave's wake-ups take too. One
          // read-modify-write both sets PARKED and looks for their flag, so in the word's
          // modification order either their RMW comes first (we see the flag and do not
          // sleep) or ours does (they see PARKED and their wake-up, which takes the bucket
          // lock after we are queued, finds us). A load followed by a separate fetch_or would
          // let a flag set in between go unseen by both sides: a lost wake-up, found by the
          // Relacy model (tests/model/stage_model.cpp) and StageCore.NotifyBetween... below.
          // relaxed: the acquire load at the top of the loop synchronizes with their release.
          const std::uint32_t prev = seat.state.fetch_or(Seat::kParked, std::memory_order_relaxed);
          return (prev & (Seat::kNotified | Seat::kPromoted)) == 0;
        },
        [] {}, [](const void*, bool) {}, parking_lot::DEFAULT_PARK_TOKEN, deadline);
    // relaxed: a stale PARKED only costs a notifier a needless lot call. Cleared after every
    // park, Invalid included (the validation above set it either way).
    seat.state.fetch_and(~Seat::kParked, std::memory_order_relaxed);
    // Wake-ups are hints: the loop looks at the state again (a seat's memory may be reused by a
    // new ticket, and a wake meant for the old one is then merely spurious).
    if (r.kind == parking_lot::ParkResult::Kind::TimedOut) {
      return leave_queue(seat, Entry::TimedOut);
    }
  }
}

template <class Sync, bool Spin>
auto BasicStageCore<Sync, Spin>::leave_queue(Seat& seat, Entry otherwise) noexcept -> Entry {
  lock_.lock();
  const bool popped = !seat.queued.load();
  if (!popped) unlink(seat);
  lock_.unlock();
  if (popped) {
    // A head promoted this seat (PROMOTED was set under the lock we just held). We will not
    // head (we were notified, or our deadline passed): pass the role on, so that no parked
    // waiter is left without a head (S4).
    seat.state.fetch_and(~Seat::kPromoted, std::memory_order_relaxed);  // relaxed: ours only
    leave();
  }
  // A notification that arrived meanwhile is reported rather than a timeout.
  return take_notification(seat) ? Entry::Notified : otherwise;
}

template <class Sync, bool Spin>
void BasicStageCore<Sync, Spin>::leave() noexcept {
  lock_.lock();
  assert(headed_.load() && "Stage: the head role left twice");
  Seat* next = first_.load();
  bool must_wake = false;
  if (next != nullptr) {
    unlink(*next);
    // release: pairs with the acquire in wait_for_turn(); the role passes without headed_
    // ever turning false.
    const std::uint32_t prev = next->state.fetch_or(Seat::kPromoted, std::memory_order_release);
    must_wake = (prev & Seat::kParked) != 0;
  } else {
    headed_.store(false);
  }
  lock_.unlock();
  // The seat's owner may already have seen PROMOTED, headed, left and freed its ticket: the
  // wake-up only uses the address.
  if (must_wake) wake(next);
}

template <class Sync, bool Spin>
void BasicStageCore<Sync, Spin>::wake(const Seat* seat) noexcept {
  Sync::unpark_one(seat,
                   [](parking_lot::UnparkResult) { return parking_lot::DEFAULT_UNPARK_TOKEN; });
}

template <class Sync, bool Spin>
void BasicStageCore<Sync, Spin>::append(Seat& seat) noexcept {
  assert(!seat.queued.load() && "Stage: a seat queued twice (two threads entered one ticket?)");
  Seat* last = last_.load();
  seat.prev.store(last);
  seat.next.store(nullptr);
  seat.queued.store(true);
  if (last != nullptr) {
    last->next.store(&seat);
  } else {
    first_.store(&seat);
  }
  last_.store(&seat);
}

template <class Sync, bool Spin>
void BasicStageCore<Sync, Spin>::unlink(Seat& seat) noexcept {
  Seat* prev = seat.prev.load();
  Seat* next = seat.next.load();
  if (prev != nullptr) {
    prev->next.store(next);
  } else {
    first_.store(next);
  }
  if (next != nullptr) {
    next->prev.store(prev);
  } else {
    last_.store(prev);
  }
  seat.queued.store(false);
}

}  // namespace exitleft::detail
