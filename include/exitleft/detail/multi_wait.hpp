// The engine behind wait_any / wait_all (wait.hpp), written against a sync policy.
//
// Design:
// - Every waitable (event, semaphore, countdown) has a MULTI bit in its state word, set while at
//   least one multi-object wait is registered on it. The fast paths of single-object code
//   compare-exchange exact values without that bit, so MULTI sends them to their slow paths, and
//   code that never multi-waits pays nothing (SPEC: "a bit in the state word routes to the slow
//   path").
// - Every operation on an object whose MULTI bit is set runs under the engine's lock (a small
//   lot-based mutex). Under it the state of every object any multi-waiter looks at is stable: a
//   wait-all checks that all its objects are signalled and consumes all of them in one step, and
//   nobody can observe a partial consumption (pevents consumes early; Win32 does not).
// - A multi-wait is a Record on the waiter's stack, with one Entry per object, kept in a registry
//   of intrusive lists (hashed by object address) under the engine lock. The waiter parks on the
//   record's own address.
// - When an object with MULTI receives a signal (set, pulse, release, count reaching 0), the
//   engine dispatches it in FIFO order over both kinds of waiters: threads parked on the object
//   in the lot (their park token is a sequence number taken under the engine lock; 0 for threads
//   that parked before any multi-waiter came) and registered entries (same sequence). A wait-any
//   takes the lowest signalled index of its objects; a wait-all is served only if all its objects
//   are signalled then. A consuming object (auto-reset event, semaphore unit) stops when its
//   signal is used; an observed one (manual-reset event, countdown at 0) serves everyone. So
//   neither single waiters nor multi-waiters starve each other.
// - A satisfied record is unregistered before its result is published; the satisfier reads
//   everything it needs from the record before the release store of its state, and afterwards
//   only passes its address to the lot (the owner may have returned already).
// - Lock order: engine lock, then lot bucket locks. Single-object slow paths that find MULTI set
//   while inside a lot callback make no change there and redo the operation under the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/lot_mutex.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft::detail {

enum class WaitKind : std::uint8_t {
  AutoEvent,    // a RawEvent waited on by consuming (AutoResetEvent)
  ManualEvent,  // a RawEvent waited on by observing (ManualResetEvent)
  Semaphore,    // signalled while count > 0; consuming takes one unit
  Countdown,    // signalled while count == 0; observed
};

// What the engine needs to know of one object. `key` is the object's address: where its single
// waiters park. `state` points at its state word (std::uint8_t for events, std::uint64_t else).
template <class Sync>
struct WaitTarget {
  WaitKind kind;
  const void* key;
  void* state;
  std::uint32_t max;  // Semaphore only
};

inline constexpr std::size_t kMaxWaitObjects = 64;

template <class Sync>
class MultiWaitEngine {
 public:
  using Target = WaitTarget<Sync>;

  MultiWaitEngine() noexcept = default;
  MultiWaitEngine(const MultiWaitEngine&) = delete;
  MultiWaitEngine& operator=(const MultiWaitEngine&) = delete;

  // ---- multi-object waits (targets already validated) ----
  // Returns the index that satisfied a wait-any (0 for a wait-all), or nullopt on timeout.
  std::optional<std::size_t> wait(std::span<const Target> targets, bool all,
                                  SteadyTime deadline) noexcept;

  // ---- single-object operations on an object whose MULTI bit was seen set ----
  // The caller saw MULTI set on its lock-free path, but the last multi-waiter may have
  // unregistered (clearing MULTI) before the engine's lock was taken. Then the object's lock-free
  // paths are live again and the engine must not touch its value bits: each of these calls
  // checks MULTI under the lock and, when it is clear, changes nothing and returns kRetry (or
  // nullopt), and the caller redoes its operation on its lock-free path. MULTI is set and cleared
  // only under the lock, so while the lock is held the answer stays true.
  //
  // A signal arrives: set_one / set_all / pulse_one / pulse_all, semaphore release(n),
  // countdown decrement / increment / reset. `release` and `increment` fail (kFull, kOverflow)
  // where the operation itself fails and change nothing then.
  enum class Routed : std::uint8_t { kDone, kRetry, kFull, kOverflow };
  Routed event_set(const Target& t, bool one) noexcept;
  Routed event_pulse(const Target& t, bool one) noexcept;
  Routed event_reset(const Target& t) noexcept;
  Routed semaphore_release(const Target& t, std::uint32_t n) noexcept;
  enum class Decrement : std::uint8_t { AtZero, Lowered, ReachedZero, Retry };
  Decrement countdown_decrement(const Target& t) noexcept;
  Routed countdown_increment(const Target& t, std::uint64_t n) noexcept;
  Routed countdown_reset(const Target& t, std::uint64_t count) noexcept;
  // A single waiter's attempt: takes (or observes) the signal if it is there (kSignalled);
  // otherwise marks the object PARKED and gives the park token to park with (kPark).
  struct Attempt {
    enum Kind : std::uint8_t { kSignalled, kPark, kRetry } kind;
    std::uint64_t token;
  };
  Attempt single_attempt(const Target& t) noexcept;
  // try_wait / try_acquire of a consuming object: true if taken, false if not signalled.
  std::optional<bool> single_try(const Target& t) noexcept;
  // Takes (or observes) `t`'s signal without the engine lock if the object has no multi-waiter;
  // through single_try() if it has one. False if it is not signalled.
  bool quick_take(const Target& t) noexcept;

  // In a child process after fork(): the parent's other threads (and their records) are gone.
  void reset_after_fork() noexcept;

 private:
  struct Record;
  struct Entry {
    typename Sync::template Var<Entry*> prev{nullptr};
    typename Sync::template Var<Entry*> next{nullptr};
    Record* record = nullptr;
    std::uint64_t seq = 0;
    std::uint8_t index = 0;
  };
  static constexpr std::uint32_t kWaiting = 0;
  static constexpr std::uint32_t kSatisfied = 0x100;  // | index
  static constexpr std::uint32_t kTimedOut = 0x200;
  struct Record {
    typename Sync::template Atomic<std::uint32_t> state{kWaiting};
    bool all = false;
    std::size_t count = 0;
    const Target* targets = nullptr;
    Entry entries[kMaxWaitObjects];
    std::uint8_t result = 0;
    Record* wake_next = nullptr;
  };
  static constexpr std::size_t kBuckets = 256;

  // All below: called with lock_ held.
  bool routed(const Target& t) const noexcept;  // is MULTI set? (stable while lock_ is held)
  bool signalled(const Target& t) const noexcept;
  void consume(const Target& t) noexcept;
  void set_multi(const Target& t, bool on) noexcept;
  void clear_parked(const Target& t) noexcept;
  void register_record(Record& r) noexcept;
  void unregister_record(Record& r) noexcept;
  bool has_entries(const void* key) noexcept;
  std::size_t bucket_of(const void* key) const noexcept;
  bool try_satisfy(Record& r) noexcept;  // takes what r waits for if it can, sets r.result
  void dispatch(const Target& t, bool observed) noexcept;
  void serve_entries(const Target& t, std::uint64_t older_than, Record*& wake) noexcept;
  void release_records(Record* wake) noexcept;

  BasicLotMutex<Sync> lock_;
  typename Sync::template Var<Entry*> heads_[kBuckets];
  typename Sync::template Var<Entry*> tails_[kBuckets];
  typename Sync::template Var<std::uint64_t> next_seq_{1};
};

// The engine of a sync policy: one per process for StdSync (src/multi_wait.cpp); a model
// provides its own for RelacySync.
template <class Sync>
MultiWaitEngine<Sync>& multi_engine() noexcept;

template <>
EXITLEFT_EXPORT MultiWaitEngine<StdSync>& multi_engine<StdSync>() noexcept;

extern template class EXITLEFT_EXPORT MultiWaitEngine<StdSync>;

}  // namespace exitleft::detail
