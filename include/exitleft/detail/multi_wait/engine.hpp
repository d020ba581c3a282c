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

// What the engine needs of one kind of object, provided by the primitive (see WaitOpsFor): the
// layout of its state word, as data the engine reads without a call, and the object's own
// lock-free take. The engine knows no primitive and includes none of their headers.
template <class Sync>
struct WaitOps {
  std::uint8_t word_bytes;   // 1 (std::uint8_t, events) or 8 (std::uint64_t)
  bool signalled_at_zero;    // signalled while the value bits are 0 (a countdown), else while not
  std::uint64_t value_mask;  // the value bits: AVAILABLE, or the count
  std::uint64_t multi_bit;   // MULTI: a multi-object wait is registered
  std::uint64_t parked_bit;  // PARKED: a thread may be parked on the object's address
  // The object's own lock-free take (try_wait_one, try_acquire) of a consuming wait.
  bool (*try_take)(void* object) noexcept;
};

// One object's state word, read and changed through its WaitOps. Taking one signal is a
// decrement of the word for every consuming kind (an event's AVAILABLE is bit 0; a semaphore's
// count is the low bits): WaitOpsFor checks it.
template <class Sync>
class WaitWord {
 public:
  WaitWord(const WaitOps<Sync>& ops, void* word) noexcept : ops_(ops), word_(word) {}
  std::uint64_t load(std::memory_order o) const noexcept {
    return ops_.word_bytes == 1 ? std::uint64_t{small().load(o)} : large().load(o);
  }
  void fetch_or(std::uint64_t bits, std::memory_order o) noexcept {
    if (ops_.word_bytes == 1) {
      small().fetch_or(static_cast<std::uint8_t>(bits), o);
    } else {
      large().fetch_or(bits, o);
    }
  }
  void fetch_and(std::uint64_t bits, std::memory_order o) noexcept {
    if (ops_.word_bytes == 1) {
      small().fetch_and(static_cast<std::uint8_t>(bits), o);
    } else {
      large().fetch_and(bits, o);
    }
  }
  void decrement(std::memory_order o) noexcept {
    if (ops_.word_bytes == 1) {
      small().fetch_sub(std::uint8_t{1}, o);
    } else {
      large().fetch_sub(std::uint64_t{1}, o);
    }
  }

 private:
  typename Sync::template Atomic<std::uint8_t>& small() const noexcept {
    return *static_cast<typename Sync::template Atomic<std::uint8_t>*>(word_);
  }
  typename Sync::template Atomic<std::uint64_t>& large() const noexcept {
    return *static_cast<typename Sync::template Atomic<std::uint64_t>*>(word_);
  }
  const WaitOps<Sync>& ops_;
  void* word_;
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
// template its friend): `Word` (its state word's type), `kMulti`, `kParked`, `static constexpr
// bool signalled(Word)`, `static constexpr Word consumed(Word)` (the word after taking one
// signal) and `bool try_take() noexcept`.
template <class Sync, class Object>
struct WaitOpsFor {
  using Word = typename Object::Word;
  static_assert(sizeof(Word) == 1 || sizeof(Word) == 8);
  // Taking a signal is a decrement (WaitWord), unless waits only observe (signalled at zero).
  static_assert(Object::signalled(0) || Object::consumed(1) == 0);

  static constexpr WaitOps<Sync> table{
      static_cast<std::uint8_t>(sizeof(Word)),
      Object::signalled(0),
      static_cast<std::uint64_t>(static_cast<Word>(~(Object::kMulti | Object::kParked))),
      static_cast<std::uint64_t>(Object::kMulti),
      static_cast<std::uint64_t>(Object::kParked),
      [](void* object) noexcept { return static_cast<Object*>(object)->try_take(); },
  };

  static WaitTarget<Sync> target(Object& object, typename Sync::template Atomic<Word>& word,
                                 bool observed) noexcept {
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
    ~Route() {
      engine_.lock_.unlock();
      if constexpr (requires { Sync::leave_library_lock(); }) Sync::leave_library_lock();
    }
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
  static WaitWord<Sync> word(const Target& t) noexcept { return {*t.ops, t.state}; }
  // relaxed: MULTI only changes under lock_, which the caller holds.
  static bool routed(const Target& t) noexcept {
    return (word(t).load(std::memory_order_relaxed) & t.ops->multi_bit) != 0;
  }
  // acquire: pairs with the release RMWs that signal the object.
  static bool signalled(const Target& t) noexcept {
    const bool zero = (word(t).load(std::memory_order_acquire) & t.ops->value_mask) == 0;
    return zero == t.ops->signalled_at_zero;
  }
  // Takes one signal: acq_rel (see engine_impl.hpp).
  static void take(const Target& t) noexcept { word(t).decrement(std::memory_order_acq_rel); }
  // What a served wait on `t` does with its signal: observed waits leave it.
  static void consume(const Target& t) noexcept {
    if (!t.observed) take(t);
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
