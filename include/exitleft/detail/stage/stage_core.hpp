// Stage's leader/followers hand-off, independent of tokens and resources, written against a sync
// policy so that tests/model/ checks the same code under Relacy.
//
// Pieces:
// - A Seat per ticket. Its owner parks on the seat's own address. Its state word holds
//   NOTIFIED (a notification is pending: a flag, not a count), PROMOTED (the previous head handed
//   it the role) and PARKED (its owner is, or is about to be, asleep in the lot: a notifier only
//   makes the lot call when this is set).
// - The core: `headed_` (someone runs a head) and a FIFO queue of waiting seats, both guarded by
//   a small lot mutex that is held only for a few pointer updates, never across a park.
//
// Protocol:
// - enter: a pending notification returns Notified at once (S2). Otherwise, under the lock: no
//   head → become head (S3); else join the queue. A queued seat spins briefly, then parks until
//   PROMOTED or NOTIFIED is set (validate checks both under the bucket lock, so neither is lost).
// - leave (the head is done, returned or threw): under the lock, pop the first queued seat and
//   set its PROMOTED (the role passes without `headed_` ever being false), or, with nobody
//   queued, clear `headed_`. Then wake the promoted seat's owner if it sleeps. Promotion happens
//   after the head stopped touching the resource, exactly once (S4).
// - A queued seat that is notified or times out leaves the queue under the lock. If it is no
//   longer queued, a head popped it: PROMOTED is set, and since it will not head it passes the
//   role on with leave() before it returns. So a promotion is never lost and no parked waiter is
//   left without a head, whatever races with it (exit-left loses the role here).
// - notify sets NOTIFIED with one RMW; only if that RMW saw PARKED (and not NOTIFIED) does it call
//   the lot. A notify to a seat already notified costs that one RMW.
//
// Ordering: NOTIFIED is set with release and read with acquire, so whatever the notifier did
// before (e.g. filling the buffer) is visible to the woken owner. PROMOTED is set under the queue
// lock with release and read with acquire: everything the old head did with the resource happens
// before the new head starts (S1).
#pragma once

#include <cstdint>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/lot/lot_mutex.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft::detail {

template <class Sync>
struct BasicStageSeat {
  static constexpr std::uint32_t kNotified = 1;
  static constexpr std::uint32_t kPromoted = 2;
  static constexpr std::uint32_t kParked = 4;

  BasicStageSeat() noexcept = default;
  BasicStageSeat(const BasicStageSeat&) = delete;
  BasicStageSeat& operator=(const BasicStageSeat&) = delete;

  typename Sync::template Atomic<std::uint32_t> state{0};
  // Queue links: guarded by the core's lock.
  typename Sync::template Var<BasicStageSeat*> prev{nullptr};
  typename Sync::template Var<BasicStageSeat*> next{nullptr};
  typename Sync::template Var<bool> queued{false};
};

template <class Sync, bool Spin = true>
class BasicStageCore {
 public:
  using Seat = BasicStageSeat<Sync>;
  enum class Entry : std::uint8_t { Head, Notified, TimedOut };

  BasicStageCore() noexcept = default;
  BasicStageCore(const BasicStageCore&) = delete;
  BasicStageCore& operator=(const BasicStageCore&) = delete;

  // Returns Head when the caller must run the head now (and then call leave()), Notified when
  // the seat's notification was taken, TimedOut when `deadline` passed first. kAlreadyPassed
  // never waits: it heads an idle stage, takes a pending notification, or times out.
  Entry enter(Seat& seat, SteadyTime deadline) noexcept;

  // The head is done: promote the first queued seat, or mark the stage idle.
  void leave() noexcept;

  // Sets `seat`'s notification. Returns true if its owner may be asleep and must be woken with
  // wake(&seat) (the caller may first drop whatever kept the seat alive: wake() only uses the
  // address). With the seat already notified, or its owner awake, this is one RMW.
  static bool notify(Seat& seat) noexcept {
    // release: pairs with the acquire in take_notification() / wait_for_turn().
    const std::uint32_t prev = seat.state.fetch_or(Seat::kNotified, std::memory_order_release);
    return (prev & (Seat::kNotified | Seat::kParked)) == Seat::kParked;
  }
  static void wake(const Seat* seat) noexcept;

  // Takes a pending notification of a seat whose owner is not inside enter (or is the head).
  static bool take_notification(Seat& seat) noexcept {
    // acquire: pairs with the release in notify().
    if (!(seat.state.load(std::memory_order_acquire) & Seat::kNotified)) return false;
    seat.state.fetch_and(~Seat::kNotified, std::memory_order_acquire);
    return true;
  }

  // For assertions and tests: is a head running? (a snapshot)
  bool headed() noexcept {
    LotGuard<BasicLotMutex<Sync>> guard(lock_);
    return headed_.load();
  }

 private:
  Entry wait_for_turn(Seat& seat, SteadyTime deadline) noexcept;
  Entry leave_queue(Seat& seat, Entry otherwise) noexcept;
  void append(Seat& seat) noexcept;
  void unlink(Seat& seat) noexcept;

  static constexpr std::uint32_t kFollowerYields = 2;  // see wait_for_turn()

  BasicLotMutex<Sync> lock_;
  typename Sync::template Var<bool> headed_{false};
  typename Sync::template Var<Seat*> first_{nullptr};
  typename Sync::template Var<Seat*> last_{nullptr};
};

extern template class EXITLEFT_EXPORT BasicStageCore<StdSync, true>;

}  // namespace exitleft::detail
