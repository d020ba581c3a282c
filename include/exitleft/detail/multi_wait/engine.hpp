// The engine behind wait_any / wait_all (wait.hpp), written against a sync policy.
//
// Design:
// - Every waitable (event, semaphore, countdown) has a MULTI bit in its state word, set while at
//   least one multi-object wait is registered on it. The fast paths of single-object code
//   compare-exchange exact values without that bit, so MULTI sends them to their slow paths, and
//   code that never multi-waits pays nothing.
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
#include "exitleft/detail/lot/lot_mutex.hpp"
#include "exitleft/detail/std_sync.hpp"
#include "exitleft/export.hpp"

namespace exitleft::detail {

// What the engine needs of one kind of object, provided by the primitive (see WaitOpsFor): a
// few functions over its state word. The engine never reads a primitive's bits itself, and no
// primitive header is included here.
template <class Sync>
struct WaitOps {
  // Is MULTI set? relaxed: MULTI only changes under the engine lock, held by the caller.
  bool (*routed)(const void* word) noexcept;
  // Is the object signalled? acquire: pairs with the release RMWs that signal it.
  bool (*signalled)(const void* word) noexcept;
  // Takes one signal (a unit, the event's set state). acq_rel; the value bits only. Only called
  // under the engine lock, on a signalled object.
  void (*consume)(void* word) noexcept;
  // Sets or clears MULTI. acq_rel: see the design notes above.
  void (*set_multi)(void* word, bool on) noexcept;
  // Sets PARKED (relaxed: validate re-checks it under the bucket lock), clears it (relaxed:
  // only under the object's bucket lock).
  void (*mark_parked)(void* word) noexcept;
  void (*clear_parked)(void* word) noexcept;
  // The object's own lock-free take (try_wait_one, try_acquire) of a consuming wait.
  bool (*try_take)(void* object) noexcept;
};

// One object as a multi-object wait sees it. `key` is the object's address (where its single
// waiters park), `state` its state word; `observed` says how this wait treats its signal: it
// observes it (manual-reset event, countdown) or consumes it (auto-reset event, semaphore).
template <class Sync>
struct WaitTarget {
  const WaitOps<Sync>* ops;
  const void* key;
  void* state;
  bool observed;
};

// The WaitOps of a primitive `Object`, built from what it declares (privately, with this
// template its friend): `Word` (its state word's type), `kMulti`, `kParked`, `static bool
// signalled(Word)`, `static Word consumed(Word)` (the word after taking one signal; unused by
// observed-only objects) and `bool try_take() noexcept`.
template <class Sync, class Object>
struct WaitOpsFor {
  using Word = typename Object::Word;
  using Atomic = typename Sync::template Atomic<Word>;
  static Atomic& at(void* w) noexcept { return *static_cast<Atomic*>(w); }
  static const Atomic& at(const void* w) noexcept { return *static_cast<const Atomic*>(w); }

  static constexpr WaitOps<Sync> table{
      [](const void* w) noexcept {
        return (at(w).load(std::memory_order_relaxed) & Object::kMulti) != 0;
      },
      [](const void* w) noexcept {
        return Object::signalled(at(w).load(std::memory_order_acquire));
      },
      [](void* w) noexcept {
        Word s = at(w).load(std::memory_order_relaxed);
        while (!at(w).compare_exchange_weak(s, Object::consumed(s), std::memory_order_acq_rel,
                                            std::memory_order_relaxed)) {
        }
      },
      [](void* w, bool on) noexcept {
        if (on) {
          at(w).fetch_or(Object::kMulti, std::memory_order_acq_rel);
        } else {
          at(w).fetch_and(static_cast<Word>(~Object::kMulti), std::memory_order_acq_rel);
        }
      },
      [](void* w) noexcept { at(w).fetch_or(Object::kParked, std::memory_order_relaxed); },
      [](void* w) noexcept {
        at(w).fetch_and(static_cast<Word>(~Object::kParked), std::memory_order_relaxed);
      },
      [](void* object) noexcept { return static_cast<Object*>(object)->try_take(); },
  };

  static WaitTarget<Sync> target(Object& object, Atomic& word, bool observed) noexcept {
    return {&table, &object, &word, observed};
  }
};

// How wait.hpp (and the tests' models) reach an object's WaitTarget, which is not public API.
struct WaitAccess {
  template <class Object, class... Args>
  static auto target(Object& object, Args... args) noexcept {
    return object.wait_target(args...);
  }
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
  // paths are live again and nothing may change its value bits here: each of these calls checks
  // MULTI under the lock and, when it is clear, changes nothing and says so (Route false,
  // kRetry, nullopt), and the caller redoes its operation on its lock-free path. MULTI is set
  // and cleared only under the lock, so while the lock is held the answer stays true.
  //
  // A change of the object's state (a set, release, decrement, reset) runs inside a Route: it
  // holds the engine lock from route() to its destruction. The primitive changes its own word
  // with acq_rel RMWs (release: lock-free readers such as is_set() see what the setter did;
  // acquire: a consumer sees what the setter published), then calls dispatch() if a signal
  // arrived.
  class Route {
   public:
    Route(const Route&) = delete;
    Route& operator=(const Route&) = delete;
    ~Route() { engine_.lock_.unlock(); }
    // false: MULTI went away; change nothing, redo the operation lock-free.
    explicit operator bool() const noexcept { return routed_; }
    // A signal arrived: serve the object's waiters, single and multi, in one FIFO order.
    // `observed`: every waiter sees it (set_all, a count reaching zero); otherwise each served
    // waiter consumes one signal, until none is left.
    void dispatch(bool observed) noexcept { engine_.dispatch(target_, observed); }

   private:
    friend class MultiWaitEngine;
    Route(MultiWaitEngine& engine, const Target& target) noexcept;
    MultiWaitEngine& engine_;
    const Target& target_;
    bool routed_;
  };
  Route route(const Target& t) noexcept { return Route(*this, t); }

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
  static bool routed(const Target& t) noexcept { return t.ops->routed(t.state); }
  static bool signalled(const Target& t) noexcept { return t.ops->signalled(t.state); }
  // What a served wait on `t` does with its signal: observed waits leave it.
  static void consume(const Target& t) noexcept {
    if (!t.observed) t.ops->consume(t.state);
  }
  void register_record(Record& r) noexcept;
  void unregister_record(Record& r) noexcept;
  bool has_entries(const void* key) noexcept;
  std::size_t bucket_of(const void* key) const noexcept;
  bool try_satisfy(Record& r) noexcept;  // takes what r waits for if it can, sets r.result
  void dispatch(const Target& t, bool observed) noexcept;
  void serve_entries(const Target& t, bool observed, std::uint64_t older_than,
                     Record*& wake) noexcept;
  void release_records(Record* wake) noexcept;

  BasicLotMutex<Sync> lock_;
  typename Sync::template Var<Entry*> heads_[kBuckets];
  typename Sync::template Var<Entry*> tails_[kBuckets];
  typename Sync::template Var<std::uint64_t> next_seq_{1};
};

// The engine of a sync policy: one per process for StdSync (src/multi_wait/engine.cpp); a model
// provides its own for RelacySync.
template <class Sync>
MultiWaitEngine<Sync>& multi_engine() noexcept;

template <>
EXITLEFT_EXPORT MultiWaitEngine<StdSync>& multi_engine<StdSync>() noexcept;

extern template class EXITLEFT_EXPORT MultiWaitEngine<StdSync>;

}  // namespace exitleft::detail
