// MultiWaitEngine's definitions (design and ordering in include/exitleft/detail/multi_wait.hpp).
//
// Memory orders: every change to an object's state under lock_ is an acq_rel RMW (the
// primitive's own, inside a Route, or the object's WaitOps): release so that what a setter did
// before it is visible to lock-free readers of the state (is_set, try_wait), acquire so that a
// consumer sees what the setter published. Woken single waiters are ordered by the lot (its
// release store / acquire load of their parked word); woken multi-waiters by the release store
// of their record's state, which they load with acquire.
#pragma once

#include <cassert>
#include <cstdint>

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/key_hash.hpp"
#include "exitleft/detail/lot/wake_tokens.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"

namespace exitleft::detail {

template <class Sync>
MultiWaitEngine<Sync>::Route::Route(MultiWaitEngine& engine, const Target& target) noexcept
    : engine_(engine), target_(target) {
  // A dispatch unparks under this lock: coroutines it wakes resume after ~Route (A3).
  if constexpr (requires { Sync::enter_library_lock(); }) Sync::enter_library_lock();
  engine_.lock_.lock();
  routed_ = routed(target_);
}

template <class Sync>
std::size_t MultiWaitEngine<Sync>::bucket_of(const void* key) const noexcept {
  static_assert(kBuckets == 256);
  return key_hash(key, 8);
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
    // acq_rel: setting MULTI makes every later lock-free compare-exchange on the object fail (it
    // expects the bit clear), so all its changes come here; the acquire half reads what its last
    // lock-free operation left.
    word(r.targets[i]).fetch_or(r.targets[i].ops->multi_bit, std::memory_order_acq_rel);
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
    if (!has_entries(r.targets[i].key)) {
      // acq_rel: as setting it in register_record(); the lock-free paths take over after this.
      word(r.targets[i]).fetch_and(~r.targets[i].ops->multi_bit, std::memory_order_acq_rel);
    }
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
void MultiWaitEngine<Sync>::serve_entries(const Target& t, bool observed, std::uint64_t older_than,
                                          Record*& wake) noexcept {
  // Satisfying a record unregisters all of its entries (it may have several in this list), so
  // the walk restarts after each one; lists are short (one entry per waiting multi-waiter).
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
        serve_entries(t, observed, seq, wake);
        if (observed) return parking_lot::FilterOp::Unpark;
        if (!signalled(t)) return parking_lot::FilterOp::Stop;
        take(t);  // its unit / the event's signal is handed over with kTokenHandOff
        return parking_lot::FilterOp::Unpark;
      },
      [&](parking_lot::UnparkResult r) {
        serve_entries(t, observed, ~std::uint64_t{0}, wake);
        // relaxed: under the object's bucket lock.
        if (!r.have_more_threads) word(t).fetch_and(~t.ops->parked_bit, std::memory_order_relaxed);
        return token;
      });
  release_records(wake);
}

template <class Sync>
void MultiWaitEngine<Sync>::release_records(Record* wake) noexcept {
  while (wake != nullptr) {
    Record& r = *wake;
    wake = r.wake_next;  // read before the release: then the record may be gone
    assert(r.state.load(std::memory_order_relaxed) == kWaiting && "a record satisfied twice");
    // release: pairs with the acquire in wait(); publishes the consumption.
    r.state.store(kSatisfied | r.result, std::memory_order_release);
    Sync::unpark_one(&r,
                     [](parking_lot::UnparkResult) { return parking_lot::DEFAULT_UNPARK_TOKEN; });
  }
}

template <class Sync>
std::optional<std::size_t> MultiWaitEngine<Sync>::wait(std::span<const Target> targets, bool all,
                                                       SteadyTime deadline) noexcept {
  assert(!targets.empty() && targets.size() <= kMaxWaitObjects);
  if (!all && quick_take(targets[0])) {
    // A wait-any whose first object is signalled needs no registration: index 0 is the lowest
    // whatever the others hold. Only index 0: a lock-free pass over several objects is not
    // atomic. It could find object 0 unset, object 0 then set, and object 1 set after it, and
    // return 1 while the lower object 0 was signalled at the moment it took 1 (the Relacy model
    // wait_model.cpp checks this). The scan under the engine's lock below sees every object at
    // one moment, as far as multi-waiters and setters can tell.
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
auto MultiWaitEngine<Sync>::single_attempt(const Target& t) noexcept -> Attempt {
  LotGuard<BasicLotMutex<Sync>> guard(lock_);
  if (!routed(t)) return {Attempt::kRetry, 0};
  if (signalled(t)) {
    consume(t);
    return {Attempt::kSignalled, 0};
  }
  // relaxed: validate checks it again under the bucket lock.
  word(t).fetch_or(t.ops->parked_bit, std::memory_order_relaxed);
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
  // An observed object is only looked at (acquire, in signalled()); a consuming one is taken by
  // its own lock-free path, which goes through single_try() while MULTI is set.
  return t.observed ? signalled(t) : t.ops->try_take(const_cast<void*>(t.key));
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
