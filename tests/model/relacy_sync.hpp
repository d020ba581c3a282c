// The Relacy sync policy: runs exitleft's core algorithms (written against a sync policy, see
// include/exitleft/detail/std_sync.hpp) on Relacy's rl::atomic / rl::var, so that Relacy
// explores their interleavings and weak-memory outcomes.
//
// Include this header first in a model program, before any other exitleft header that the
// model instantiates. relacy.hpp defines macros named `new`, `delete` and
// `memory_order_relaxed` & co., so every exitleft header is included *before* it: their
// templates were lexed without those macros. Code after this header names memory orders as
// std::memory_order::acquire (the scoped spelling, which the macros do not touch).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <source_location>
#include <type_traits>

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/multi_wait/engine.hpp"
#include "exitleft/parking_lot.hpp"
#include "src/lot/lot.hpp"

// Everything the models instantiate must be included above this line.
#include <relacy/relacy.hpp>

// relacy.hpp's `delete` macro would turn "= delete" into nonsense below.
#pragma push_macro("delete")
#undef delete

namespace exitleft::model {

inline rl::memory_order to_rl(std::memory_order mo) {
  switch (mo) {
    case std::memory_order::relaxed:
      return rl::mo_relaxed;
    case std::memory_order::consume:
      return rl::mo_consume;
    case std::memory_order::acquire:
      return rl::mo_acquire;
    case std::memory_order::release:
      return rl::mo_release;
    case std::memory_order::acq_rel:
      return rl::mo_acq_rel;
    default:
      return rl::mo_seq_cst;
  }
}

// The failure order of a compare-exchange given only the success order (as std::atomic does).
inline std::memory_order failure_order(std::memory_order mo) {
  if (mo == std::memory_order::acq_rel) return std::memory_order::acquire;
  if (mo == std::memory_order::release) return std::memory_order::relaxed;
  return mo;
}

inline rl::debug_info info(const std::source_location& loc) {
  return rl::debug_info(loc.function_name(), loc.file_name(), loc.line());
}

using Loc = std::source_location;
inline constexpr std::memory_order kSeqCst = std::memory_order::seq_cst;

// std::atomic's interface over rl::atomic. Each operation records the caller's source line.
template <class T>
class Atomic {
 public:
  Atomic() : a_(T{}) {}
  Atomic(T value) : a_(value) {}  // NOLINT: mirrors std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order mo = kSeqCst, Loc loc = Loc::current()) const {
    return a_.load(to_rl(mo), info(loc));
  }
  void store(T v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    a_.store(v, to_rl(mo), info(loc));
  }
  T exchange(T v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    return a_.exchange(v, to_rl(mo), info(loc));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, Loc loc = Loc::current()) {
    return a_.compare_exchange_strong(expected, desired, to_rl(success), info(loc), to_rl(failure),
                                      info(loc));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order mo = kSeqCst,
                               Loc loc = Loc::current()) {
    return compare_exchange_strong(expected, desired, mo, failure_order(mo), loc);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure, Loc loc = Loc::current()) {
    return a_.compare_exchange_weak(expected, desired, to_rl(success), info(loc), to_rl(failure),
                                    info(loc));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order mo = kSeqCst,
                             Loc loc = Loc::current()) {
    return compare_exchange_weak(expected, desired, mo, failure_order(mo), loc);
  }
  template <class U>
  T fetch_add(U v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    return a_.fetch_add(v, to_rl(mo), info(loc));
  }
  template <class U>
  T fetch_sub(U v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    return a_.fetch_sub(v, to_rl(mo), info(loc));
  }
  T fetch_and(T v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    return a_.fetch_and(v, to_rl(mo), info(loc));
  }
  T fetch_or(T v, std::memory_order mo = kSeqCst, Loc loc = Loc::current()) {
    return a_.fetch_or(v, to_rl(mo), info(loc));
  }

  // The futex model Relacy offers (as its own rl_futex does for atomic<int>). A wait may wake
  // spuriously only while `spurious` is true (RelacySync::spurious_wakeups).
  bool wait_while_equal(T expected, bool timed, bool spurious, Loc loc = Loc::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    c.atomic_thread_fence_seq_cst();
    T current;
    {
      rl::preemption_disabler pd(c);
      current = a_.load(rl::mo_acquire, info(loc));
    }
    if (current != expected) return true;
    return a_.wait(c, timed, spurious, info(loc)) != rl::unpark_reason_timeout;
  }
  void wake(unsigned count, Loc loc = Loc::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    c.atomic_thread_fence_seq_cst();
    a_.wake(c, count, info(loc));
  }

 private:
  mutable rl::atomic<T> a_;
};

// rl::var<T> writes every value it records into the execution history, so it only compiles
// for a T that an std::ostream can print. Other types (Bucket::fair_deadline, a
// steady_clock::time_point) are stored wrapped in this.
template <class T>
struct Printable {
  T value;
  friend std::ostream& operator<<(std::ostream& os, const Printable& p) {
    if constexpr (requires { p.value.time_since_epoch().count(); }) {
      return os << p.value.time_since_epoch().count() << " ticks";
    } else {
      return os << "(unprintable)";
    }
  }
};

// A plain variable: Relacy reports any access that races (is not ordered by happens-before).
template <class T>
class Var {
  // A pointer prints as a void*. (Asking `os << v` of a T* would complete *T to look for a
  // hidden friend, which fails for a Var<X*> member of X itself: a queue link.)
  static constexpr bool printable() {
    if constexpr (std::is_pointer_v<T>) {
      return true;
    } else {
      return requires(std::ostream & os, const T& v) {
        os << v;
      };
    }
  }
  static constexpr bool kPrintable = printable();
  using Stored = std::conditional_t<kPrintable, T, Printable<T>>;

 public:
  Var() : v_(Stored{T{}}) {}
  explicit Var(T value) : v_(Stored{value}) {}
  Var(const Var&) = delete;
  Var& operator=(const Var&) = delete;
  T load(Loc loc = Loc::current()) const {
    const Stored s = const_cast<rl::var<Stored>&>(v_)(info(loc)).load();
    if constexpr (kPrintable) {
      return s;
    } else {
      return s.value;
    }
  }
  void store(T value, Loc loc = Loc::current()) { v_(info(loc)).store(Stored{value}); }

 private:
  rl::var<Stored> v_;
};

struct RelacySync;
using ModelLotCore = exitleft::parking_lot::detail::Lot<RelacySync>;
using ModelThreadData = exitleft::parking_lot::detail::ThreadData<RelacySync>;

struct RelacySync {
  template <class T>
  using Atomic = model::Atomic<T>;
  template <class T>
  using Var = model::Var<T>;

  // A round of CPU pauses changes no shared state: in a model it is one scheduling point, not
  // one per pause (which made a spin from its first round to the park 414 scheduling points:
  // half of events_model's running time).
  static void pause(std::uint32_t) { rl::yield(1, RL_INFO); }
  static void yield() { rl::yield(1, RL_INFO); }
  static bool multi_core() { return true; }
  // No clock in a model: time stands still (be_fair never turns true). Deadlines are modelled by
  // wait(): a timed wait may time out at any point Relacy chooses. With `clock_runs` (the
  // schedules made with fair(), model_main.hpp) every call moves time 2 ms on, so that every
  // unpark says be_fair and the fair hand-offs are explored instead.
  static inline bool clock_runs = false;
  static std::chrono::steady_clock::time_point now() {
    if (!clock_runs) return {};
    static std::int64_t ns = 0;
    ns += 2'000'000;
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
  }

  // Whether a futex wait may wake spuriously. On by default (the platform layer allows it). With
  // it on, a blocked thread may wake at every scheduling point, so the tree of schedules has no
  // bound and sched_full never finishes; model_main.hpp turns it off for schedules made with
  // no_spurious() (and back on after them).
  static inline bool spurious_wakeups = true;

  // The platform layer, modelled by Relacy's futex.
  static bool wait(Atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::chrono::steady_clock::time_point deadline) {
    return word.wait_while_equal(expected, deadline != std::chrono::steady_clock::time_point::max(),
                                 spurious_wakeups);
  }
  static void wake_one(Atomic<std::uint32_t>* word) { word->wake(1); }
  static void wake_all(Atomic<std::uint32_t>* word) { word->wake(~0u >> 1); }

  // The parking lot, for models of primitives: the lot of the running model (ModelLot below),
  // each simulated thread with its own ThreadData.
  static ModelLotCore& lot();
  static ModelThreadData& self();

  template <class Validate, class BeforeSleep, class TimedOut>
  static parking_lot::ParkResult park(const void* key, Validate&& validate,
                                      BeforeSleep&& before_sleep, TimedOut&& timed_out,
                                      parking_lot::ParkToken token,
                                      std::chrono::steady_clock::time_point deadline) {
    return lot().park(self(), reinterpret_cast<std::uintptr_t>(key), validate, before_sleep,
                      timed_out, token, deadline);
  }
  template <class Callback>
  static parking_lot::UnparkResult unpark_one(const void* key, Callback&& callback) {
    return lot().unpark_one(reinterpret_cast<std::uintptr_t>(key), callback);
  }
  static std::size_t unpark_all(const void* key, parking_lot::UnparkToken token) {
    return lot().unpark_all(reinterpret_cast<std::uintptr_t>(key), token);
  }
  template <class Validate, class Callback>
  static parking_lot::UnparkResult unpark_requeue(const void* from, const void* to,
                                                  Validate&& validate, Callback&& callback) {
    return lot().unpark_requeue(reinterpret_cast<std::uintptr_t>(from),
                                reinterpret_cast<std::uintptr_t>(to), validate, callback);
  }
  template <class Filter, class Callback>
  static parking_lot::UnparkResult unpark_filter(const void* key, Filter&& filter,
                                                 Callback&& callback) {
    return lot().unpark_filter(reinterpret_cast<std::uintptr_t>(key), filter, callback);
  }
  // Awaitable waits (src/async/): a node queued instead of a parked thread.
  template <class Validate>
  static bool park_async(ModelThreadData& node, const void* key, Validate&& validate,
                         parking_lot::ParkToken token) {
    return lot().park_async(node, reinterpret_cast<std::uintptr_t>(key), validate, token);
  }
  template <class Removed>
  static bool cancel_async(ModelThreadData& node, const void* key, Removed&& removed) {
    return lot().cancel_async(node, reinterpret_cast<std::uintptr_t>(key), removed);
  }
};

// The parking lot of one model iteration: make it a member of the rl::test_suite, so that it is
// built afresh for every iteration. Few buckets force keys to share a bucket. Threads are not
// registered (registration only grows the table); a model of growth calls
// core.register_thread() itself.
struct ModelLot {
  static constexpr std::size_t kMaxThreads = 8;

  explicit ModelLot(std::size_t buckets = 2) : core(buckets) { current() = this; }
  ~ModelLot() { current() = nullptr; }
  ModelLot(const ModelLot&) = delete;
  ModelLot& operator=(const ModelLot&) = delete;

  static ModelLot*& current() {
    static ModelLot* instance = nullptr;
    return instance;
  }

  ModelLotCore core;
  ModelThreadData threads[kMaxThreads];
};

inline ModelLotCore& RelacySync::lot() {
  return ModelLot::current()->core;
}
inline ModelThreadData& RelacySync::self() {
  return ModelLot::current()->threads[rl::thread_index()];
}

// The multi-object wait engine of one model iteration (include/exitleft/detail/multi_wait.hpp),
// for a policy derived from RelacySync: like ModelLot, make it a member of the rl::test_suite.
// The primitives reach it through multi_engine<Sync>() once a multi-object wait has set their
// MULTI bit; a model without a ModelEngine that gets there fails with an assertion. A policy
// other than RelacySync and ObservedSync that a model instantiates the primitives with needs its
// own specialization of multi_engine (returning ModelEngine<ThatSync>::get()).
template <class Sync>
struct ModelEngine {
  ModelEngine() { current() = this; }
  ~ModelEngine() { current() = nullptr; }
  ModelEngine(const ModelEngine&) = delete;
  ModelEngine& operator=(const ModelEngine&) = delete;

  static ModelEngine*& current() {
    static ModelEngine* instance = nullptr;
    return instance;
  }
  static exitleft::detail::MultiWaitEngine<Sync>& get() {
    RL_ASSERT(current() != nullptr && "a MULTI path was taken in a model without a ModelEngine");
    return current()->engine;
  }

  exitleft::detail::MultiWaitEngine<Sync> engine;
};

// What the lot did, for models that must know that a thread is queued (e.g. to start a set only
// once a waiter is parked) or how many threads an unpark woke. Make it a member of the
// rl::test_suite and instantiate the code under test with ObservedSync.
struct LotObserver {
  LotObserver() { current() = this; }
  ~LotObserver() { current() = nullptr; }
  LotObserver(const LotObserver&) = delete;
  LotObserver& operator=(const LotObserver&) = delete;

  static LotObserver*& current() {
    static LotObserver* instance = nullptr;
    return instance;
  }

  // Per simulated thread: how many of its parks queued it (validate returned true). Written under
  // the bucket lock before the thread is queued; an unpark that starts after a thread read the
  // new count finds the thread queued (the count is a seq_cst RMW, read with seq_cst).
  Atomic<int> queued[ModelLot::kMaxThreads];
  // The sum of unparked_threads over every unpark call (unpark_all's result included).
  Atomic<int> unparked{0};
};

// RelacySync that reports to the LotObserver of the running model (if it has one).
struct ObservedSync : RelacySync {
  template <class Validate, class BeforeSleep, class TimedOut>
  static parking_lot::ParkResult park(const void* key, Validate&& validate,
                                      BeforeSleep&& before_sleep, TimedOut&& timed_out,
                                      parking_lot::ParkToken token,
                                      std::chrono::steady_clock::time_point deadline) {
    auto observed_validate = [&] {
      const bool queue = validate();
      if (queue && LotObserver::current() != nullptr) {
        LotObserver::current()->queued[rl::thread_index()].fetch_add(1);
      }
      return queue;
    };
    return RelacySync::park(key, observed_validate, before_sleep, timed_out, token, deadline);
  }
  template <class Callback>
  static parking_lot::UnparkResult unpark_one(const void* key, Callback&& callback) {
    return RelacySync::unpark_one(key, observed(callback));
  }
  static std::size_t unpark_all(const void* key, parking_lot::UnparkToken token) {
    const std::size_t n = RelacySync::unpark_all(key, token);
    if (LotObserver::current() != nullptr) {
      LotObserver::current()->unparked.fetch_add(static_cast<int>(n));
    }
    return n;
  }
  template <class Validate, class Callback>
  static parking_lot::UnparkResult unpark_requeue(const void* from, const void* to,
                                                  Validate&& validate, Callback&& callback) {
    return RelacySync::unpark_requeue(from, to, validate, observed(callback));
  }
  template <class Filter, class Callback>
  static parking_lot::UnparkResult unpark_filter(const void* key, Filter&& filter,
                                                 Callback&& callback) {
    return RelacySync::unpark_filter(key, filter, observed(callback));
  }

 private:
  template <class Callback>
  static auto observed(Callback& callback) {
    return [&callback](parking_lot::UnparkResult r) {
      if (LotObserver::current() != nullptr) {
        LotObserver::current()->unparked.fetch_add(static_cast<int>(r.unparked_threads));
      }
      return callback(r);
    };
  }
};

}  // namespace exitleft::model

namespace exitleft::detail {

// The engines of the model policies (see ModelEngine).
template <>
inline MultiWaitEngine<model::RelacySync>& multi_engine<model::RelacySync>() noexcept {
  return model::ModelEngine<model::RelacySync>::get();
}
template <>
inline MultiWaitEngine<model::ObservedSync>& multi_engine<model::ObservedSync>() noexcept {
  return model::ModelEngine<model::ObservedSync>::get();
}

}  // namespace exitleft::detail

namespace exitleft::model {}  // namespace exitleft::model

#pragma pop_macro("delete")
