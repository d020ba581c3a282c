// MultiWaitEngine's definitions (design and ordering in include/exitleft/detail/multi_wait.hpp).
//
// Memory orders: every change the engine makes to an object's state happens under lock_ and is
// an acq_rel RMW: release so that what a setter did before it is visible to lock-free readers of
// the state (is_set, try_wait), acquire so that a consumer sees what the setter published. Woken
// single waiters are ordered by the lot (its release store / acquire load of their parked word);
// woken multi-waiters by the release store of their record's state, which they load with
// acquire.
#pragma once

#include <cstdint>

#include "exitleft/countdown_event.hpp"
#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/multi_wait.hpp"
#include "exitleft/detail/wake_tokens.hpp"
#include "exitleft/raw_event.hpp"
#include "exitleft/semaphore.hpp"

namespace exitleft::detail {

namespace multi_bits {
template <class Sync>
using Event = BasicRawEvent<Sync, true>;
template <class Sync>
using Sem = BasicSemaphore<Sync, true>;
template <class Sync>
using Countdown = BasicCountdownEvent<Sync, true>;

template <class Sync>
typename Sync::template Atomic<std::uint8_t>& event_word(const WaitTarget<Sync>& t) noexcept {
  return *static_cast<typename Sync::template Atomic<std::uint8_t>*>(t.state);
}
template <class Sync>
typename Sync::template Atomic<std::uint64_t>& word64(const WaitTarget<Sync>& t) noexcept {
  return *static_cast<typename Sync::template Atomic<std::uint64_t>*>(t.state);
}
inline bool is_event(WaitKind k) noexcept {
  return k == WaitKind::AutoEvent || k == WaitKind::ManualEvent;
}
inline bool is_observed(WaitKind k) noexcept {
  return k == WaitKind::ManualEvent || k == WaitKind::Countdown;
}
// The MULTI bit of a semaphore's or a countdown's 64-bit word.
template <class Sync>
std::uint64_t word64_multi(WaitKind k) noexcept {
  return k == WaitKind::Semaphore ? Sem<Sync>::kMulti : Countdown<Sync>::kMulti;
}
}  // namespace multi_bits

template <class Sync>
bool MultiWaitEngine<Sync>::routed(const Target& t) const noexcept {
  using namespace multi_bits;
  // relaxed: MULTI only changes under lock_, which the caller holds; the lock's acquire made the
  // last change visible.
  if (is_event(t.kind)) {
    return event_word<Sync>(t).load(std::memory_order_relaxed) & Event<Sync>::kMulti;
  }
  return (word64<Sync>(t).load(std::memory_order_relaxed) & word64_multi<Sync>(t.kind)) != 0;
}

template <class Sync>
bool MultiWaitEngine<Sync>::signalled(const Target& t) const noexcept {
  using namespace multi_bits;
  // acquire: pairs with the release RMWs that signal (here and in the lock-free fast paths of an
  // object whose MULTI bit was set just now).
  switch (t.kind) {
    case WaitKind::AutoEvent:
    case WaitKind::ManualEvent:
      return event_word<Sync>(t).load(std::memory_order_acquire) & Event<Sync>::kAvailable;
    case WaitKind::Semaphore:
      return (word64<Sync>(t).load(std::memory_order_acquire) & Sem<Sync>::kCountMask) != 0;
    case WaitKind::Countdown:
      return (word64<Sync>(t).load(std::memory_order_acquire) & Countdown<Sync>::kCountMask) == 0;
  }
  return false;
}

template <class Sync>
void MultiWaitEngine<Sync>::consume(const Target& t) noexcept {
  using namespace multi_bits;
  // acq_rel: see the top of this file. Only the value bits change; PARKED and MULTI are kept.
  if (t.kind == WaitKind::AutoEvent) {
    event_word<Sync>(t).fetch_and(static_cast<std::uint8_t>(~Event<Sync>::kAvailable),
                                  std::memory_order_acq_rel);
  } else if (t.kind == WaitKind::Semaphore) {
    word64<Sync>(t).fetch_sub(1, std::memory_order_acq_rel);
  }
}

template <class Sync>
void MultiWaitEngine<Sync>::set_multi(const Target& t, bool on) noexcept {
  using namespace multi_bits;
  // acq_rel: setting MULTI makes every later lock-free CAS on the object fail (it expects the
  // bit clear), so all changes go through lock_; the acquire half lets us read the state that
  // the last lock-free operation left.
  if (is_event(t.kind)) {
    auto& w = event_word<Sync>(t);
    if (on) {
      w.fetch_or(Event<Sync>::kMulti, std::memory_order_acq_rel);
    } else {
      w.fetch_and(static_cast<std::uint8_t>(~Event<Sync>::kMulti), std::memory_order_acq_rel);
    }
  } else {
    const std::uint64_t bit = word64_multi<Sync>(t.kind);
    if (on) {
      word64<Sync>(t).fetch_or(bit, std::memory_order_acq_rel);
    } else {
      word64<Sync>(t).fetch_and(~bit, std::memory_order_acq_rel);
    }
  }
}

template <class Sync>
void MultiWaitEngine<Sync>::clear_parked(const Target& t) noexcept {
  using namespace multi_bits;
  // relaxed: under the object's bucket lock (inside dispatch's lot callback).
  if (is_event(t.kind)) {
    event_word<Sync>(t).fetch_and(static_cast<std::uint8_t>(~Event<Sync>::kParked),
                                  std::memory_order_relaxed);
  } else {
    const std::uint64_t bit =
        t.kind == WaitKind::Semaphore ? Sem<Sync>::kParked : Countdown<Sync>::kParked;
    word64<Sync>(t).fetch_and(~bit, std::memory_order_relaxed);
  }
}

template <class Sync>
std::size_t MultiWaitEngine<Sync>::bucket_of(const void* key) const noexcept {
  const auto a = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key));
  return static_cast<std::size_t>((a * 0x9E3779B97F4A7C15ull) >> 56);  // kBuckets == 256
}

template <class Sync>
bool MultiWaitEngine<Sync>::has_entries(const void* key) noexcept {
  for (Entry* e = heads_[bucket_of(key)].load(); e != nullptr; e = e->next.load()) {
    if (e->record->targets[e->index].key == key) return true;
  }
  return false;
}

template <class Sync>
void MultiWaitEngine<Sync>::register_record(Record& r) noexcept {
  const std::uint64_t seq = next_seq_.load();
  next_seq_.store(seq + 1);
  for (std::size_t i = 0; i < r.count; ++i) {
    Entry& e = r.entries[i];
    e.record = &r;
    e.index = static_cast<std::uint8_t>(i);
    e.seq = seq;
    const std::size_t b = bucket_of(r.targets[i].key);
    Entry* last = tails_[b].load();
    e.prev.store(last);
    e.next.store(nullptr);
    if (last != nullptr) {
      last->next.store(&e);
    } else {
      heads_[b].store(&e);
    }
    tails_[b].store(&e);
    set_multi(r.targets[i], true);
  }
}

template <class Sync>
void MultiWaitEngine<Sync>::unregister_record(Record& r) noexcept {
  for (std::size_t i = 0; i < r.count; ++i) {
    Entry& e = r.entries[i];
    const std::size_t b = bucket_of(r.targets[i].key);
    Entry* prev = e.prev.load();
    Entry* next = e.next.load();
    if (prev != nullptr) {
      prev->next.store(next);
    } else {
      heads_[b].store(next);
    }
    if (next != nullptr) {
      next->prev.store(prev);
    } else {
      tails_[b].store(prev);
    }
  }
  for (std::size_t i = 0; i < r.count; ++i) {
    if (!has_entries(r.targets[i].key)) set_multi(r.targets[i], false);
  }
}

template <class Sync>
bool MultiWaitEngine<Sync>::try_satisfy(Record& r) noexcept {
  if (r.all) {
    for (std::size_t i = 0; i < r.count; ++i) {
      if (!signalled(r.targets[i])) return false;
    }
    for (std::size_t i = 0; i < r.count; ++i) consume(r.targets[i]);  // all in one step
    r.result = 0;
    return true;
  }
  for (std::size_t i = 0; i < r.count; ++i) {  // the lowest signalled index
    if (signalled(r.targets[i])) {
      consume(r.targets[i]);
      r.result = static_cast<std::uint8_t>(i);
      return true;
    }
  }
  return false;
}

template <class Sync>
void MultiWaitEngine<Sync>::serve_entries(const Target& t, std::uint64_t older_than,
                                          Record*& wake) noexcept {
  // Satisfying a record unregisters all of its entries (it may have several in this list), so
  // the walk restarts after each one; lists are short (one entry per waiting multi-waiter).
  const bool observed = multi_bits::is_observed(t.kind);
  for (bool progress = true; progress;) {
    progress = false;
    if (!observed && !signalled(t)) return;
    for (Entry* e = heads_[bucket_of(t.key)].load(); e != nullptr; e = e->next.load()) {
      Record& r = *e->record;
      if (r.targets[e->index].key != t.key || e->seq >= older_than) continue;
      if (!try_satisfy(r)) continue;  // a wait-all whose other objects are not all signalled
      unregister_record(r);
      r.wake_next = wake;
      wake = &r;
      progress = true;
      break;
    }
  }
}

template <class Sync>
void MultiWaitEngine<Sync>::dispatch(const Target& t, bool observed) noexcept {
  Record* wake = nullptr;
  const parking_lot::UnparkToken token = observed ? kTokenBroadcast : kTokenHandOff;
  Sync::unpark_filter(
      t.key,
      [&](parking_lot::ParkToken seq) {
        // A single waiter (FIFO): first the multi-waiters that registered before it.
        serve_entries(t, seq, wake);
        if (!observed && !signalled(t)) return parking_lot::FilterOp::Stop;
        consume(t);  // its unit / the event's signal is handed over with kTokenHandOff
        return parking_lot::FilterOp::Unpark;
      },
      [&](parking_lot::UnparkResult r) {
        serve_entries(t, ~std::uint64_t{0}, wake);
        if (!r.have_more_threads) clear_parked(t);
        return token;
      });
  release_records(wake);
}

template <class Sync>
void MultiWaitEngine<Sync>::release_records(Record* wake) noexcept {
  while (wake != nullptr) {
    Record& r = *wake;
    wake = r.wake_next;  // read before the release: then the record may be gone
    // release: pairs with the acquire in wait(); publishes the consumption.
    r.state.store(kSatisfied | r.result, std::memory_order_release);
    Sync::unpark_one(&r,
                     [](parking_lot::UnparkResult) { return parking_lot::DEFAULT_UNPARK_TOKEN; });
  }
}

template <class Sync>
std::optional<std::size_t> MultiWaitEngine<Sync>::wait(std::span<const Target> targets, bool all,
                                                       SteadyTime deadline) noexcept {
  if (!all && quick_take(targets[0])) {
    // A wait-any whose first object is signalled needs no registration: index 0 is the lowest
    // whatever the others hold. Only index 0: a lock-free pass over several objects is not
    // atomic. It could find object 0 unset, object 0 then set, and object 1 set after it, and
    // return 1 while the lower object 0 was signalled at the moment it took 1 (the Relacy
    // model tests/model/wait_model.cpp found this). The scan under the engine's lock below
    // sees every object at one moment, as far as multi-waiters and setters can tell.
    return 0;
  }
  Record r;
  r.all = all;
  r.count = targets.size();
  r.targets = targets.data();

  lock_.lock();
  // Registering first sets MULTI on every object, after which their states are stable under
  // lock_: the check below is exact (and for a wait-all, atomic over all objects).
  register_record(r);
  if (try_satisfy(r)) {
    unregister_record(r);
    lock_.unlock();
    return r.result;
  }
  if (deadline != kNoDeadline && deadline <= Sync::now()) {
    unregister_record(r);
    lock_.unlock();
    return std::nullopt;
  }
  lock_.unlock();

  BasicSpinWait<Sync, SpinTail::Pause> spin;  // a signal wait: no sched_yield (basic_spin_wait.hpp)
  for (;;) {
    // acquire: pairs with the release in release_records().
    const std::uint32_t s = r.state.load(std::memory_order_acquire);
    if (s != kWaiting) return s & 0xFF;
    if (spin.spin()) continue;
    const parking_lot::ParkResult p = Sync::park(
        &r, [&r] { return r.state.load(std::memory_order_relaxed) == kWaiting; }, [] {},
        [](const void*, bool) {}, parking_lot::DEFAULT_PARK_TOKEN, deadline);
    if (p.kind == parking_lot::ParkResult::Kind::TimedOut) {
      lock_.lock();
      // Under lock_ a record is either still registered (waiting) or was satisfied and already
      // released by a dispatch that held lock_.
      const bool waiting = r.state.load(std::memory_order_acquire) == kWaiting;
      if (waiting) {
        unregister_record(r);
        r.state.store(kTimedOut, std::memory_order_relaxed);
      }
      lock_.unlock();
      if (waiting) return std::nullopt;
    }
  }
}

template <class Sync>
auto MultiWaitEngine<Sync>::event_set(const Target& t, bool one) noexcept -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  // acq_rel: see the top of this file.
  multi_bits::event_word<Sync>(t).fetch_or(multi_bits::Event<Sync>::kAvailable,
                                           std::memory_order_acq_rel);
  // set_one hands its one signal to the first waiter; set_all is observed by all of them.
  Target as = t;
  as.kind = one ? WaitKind::AutoEvent : WaitKind::ManualEvent;
  dispatch(as, !one);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::event_pulse(const Target& t, bool one) noexcept -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  auto& w = multi_bits::event_word<Sync>(t);
  // The event is signalled for exactly the waiters there now, then unset.
  w.fetch_or(multi_bits::Event<Sync>::kAvailable, std::memory_order_acq_rel);
  Target as = t;
  as.kind = one ? WaitKind::AutoEvent : WaitKind::ManualEvent;
  dispatch(as, !one);
  w.fetch_and(static_cast<std::uint8_t>(~multi_bits::Event<Sync>::kAvailable),
              std::memory_order_acq_rel);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::event_reset(const Target& t) noexcept -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  multi_bits::event_word<Sync>(t).fetch_and(
      static_cast<std::uint8_t>(~multi_bits::Event<Sync>::kAvailable), std::memory_order_acq_rel);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::semaphore_release(const Target& t, std::uint32_t n) noexcept -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  auto& w = multi_bits::word64<Sync>(t);
  const std::uint64_t s = w.load(std::memory_order_relaxed);
  const auto count = static_cast<std::uint32_t>(s & multi_bits::Sem<Sync>::kCountMask);
  if (n > t.max - count) return Routed::kFull;
  w.fetch_add(n, std::memory_order_acq_rel);  // acq_rel: see the top of this file
  dispatch(t, false);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::countdown_decrement(const Target& t) noexcept -> Decrement {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Decrement::Retry;
  auto& w = multi_bits::word64<Sync>(t);
  const std::uint64_t c =
      w.load(std::memory_order_relaxed) & multi_bits::Countdown<Sync>::kCountMask;
  if (c == 0) return Decrement::AtZero;
  w.fetch_sub(1, std::memory_order_acq_rel);  // acq_rel: see the top of this file
  if (c != 1) return Decrement::Lowered;
  dispatch(t, true);
  return Decrement::ReachedZero;
}

template <class Sync>
auto MultiWaitEngine<Sync>::countdown_increment(const Target& t, std::uint64_t n) noexcept
    -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  auto& w = multi_bits::word64<Sync>(t);
  const std::uint64_t c =
      w.load(std::memory_order_relaxed) & multi_bits::Countdown<Sync>::kCountMask;
  if (n > multi_bits::Countdown<Sync>::kCountMask - c) return Routed::kOverflow;
  w.fetch_add(n, std::memory_order_acq_rel);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::countdown_reset(const Target& t, std::uint64_t count) noexcept
    -> Routed {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return Routed::kRetry;
  auto& w = multi_bits::word64<Sync>(t);
  constexpr std::uint64_t kMask = multi_bits::Countdown<Sync>::kCountMask;
  std::uint64_t s = w.load(std::memory_order_relaxed);
  while (!w.compare_exchange_weak(s, (s & ~kMask) | count, std::memory_order_acq_rel,
                                  std::memory_order_relaxed)) {
  }
  if (count == 0) dispatch(t, true);
  return Routed::kDone;
}

template <class Sync>
auto MultiWaitEngine<Sync>::single_attempt(const Target& t) noexcept -> Attempt {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return {Attempt::kRetry, 0};
  if (signalled(t)) {
    consume(t);
    return {Attempt::kSignalled, 0};
  }
  using namespace multi_bits;
  // relaxed: PARKED is checked again by validate under the bucket lock.
  if (is_event(t.kind)) {
    event_word<Sync>(t).fetch_or(Event<Sync>::kParked, std::memory_order_relaxed);
  } else {
    word64<Sync>(t).fetch_or(
        t.kind == WaitKind::Semaphore ? Sem<Sync>::kParked : Countdown<Sync>::kParked,
        std::memory_order_relaxed);
  }
  const std::uint64_t seq = next_seq_.load();
  next_seq_.store(seq + 1);
  return {Attempt::kPark, seq};
}

template <class Sync>
std::optional<bool> MultiWaitEngine<Sync>::single_try(const Target& t) noexcept {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return std::nullopt;
  if (!signalled(t)) return false;
  consume(t);
  return true;
}

template <class Sync>
bool MultiWaitEngine<Sync>::quick_take(const Target& t) noexcept {
  using namespace multi_bits;
  switch (t.kind) {
    case WaitKind::ManualEvent:
      // acquire: pairs with the release that set it.
      return event_word<Sync>(t).load(std::memory_order_acquire) & Event<Sync>::kAvailable;
    case WaitKind::Countdown:
      return (word64<Sync>(t).load(std::memory_order_acquire) & Countdown<Sync>::kCountMask) == 0;
    case WaitKind::AutoEvent: {
      auto& w = event_word<Sync>(t);
      std::uint8_t s = w.load(std::memory_order_relaxed);
      while (s & Event<Sync>::kAvailable) {
        if (s & Event<Sync>::kMulti) {
          if (const auto taken = single_try(t)) return *taken;
          s = w.load(std::memory_order_relaxed);  // MULTI went away: take it lock-free
          continue;
        }
        // acquire: pairs with the release that set it.
        if (w.compare_exchange_weak(s, static_cast<std::uint8_t>(s & ~Event<Sync>::kAvailable),
                                    std::memory_order_acquire, std::memory_order_relaxed)) {
          return true;
        }
      }
      return false;
    }
    case WaitKind::Semaphore: {
      auto& w = word64<Sync>(t);
      std::uint64_t s = w.load(std::memory_order_relaxed);
      while (s & Sem<Sync>::kCountMask) {
        if (s & Sem<Sync>::kMulti) {
          if (const auto taken = single_try(t)) return *taken;
          s = w.load(std::memory_order_relaxed);  // MULTI went away: take it lock-free
          continue;
        }
        // acquire: pairs with the release that added the unit.
        if (w.compare_exchange_weak(s, s - 1, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

template <class Sync>
void MultiWaitEngine<Sync>::reset_after_fork() noexcept {
  // Placement-new: the lock may have been held, and the lists hold records of threads that do
  // not exist in the child. Objects keep their MULTI bits: their operations stay correct
  // (they go through the engine, which finds no entries).
  this->~MultiWaitEngine();
  new (this) MultiWaitEngine();
}

}  // namespace exitleft::detail
