// The slow paths of SharedAutoResetEvent and SharedManualResetEvent: one waiting loop for both,
// over the platform layer's process-shared wait (the parking lot cannot serve them: its queues
// live in one process).
//
// Ordering argument, once for the whole file:
// - Every write of the word is an RMW (set, reset, pulse, try_wait, and the counting, leaving
//   and taking CASes below). So the RMW of a set() or pulse() (release) heads a release sequence
//   that reaches every later value of the word, and a waiter that reads any later value with
//   acquire (its loads, and its CASes on success and failure) synchronizes with that set().
// - No lost wake-up: a waiter counts itself (CAS) and only then sleeps, on the exact value its
//   CAS wrote. set() sets the signal and reads the count in one RMW. Both are RMWs on one word,
//   so one comes first in its modification order: if the set, the counting CAS fails on the
//   signal and the waiter takes it; if the count, set() sees a waiter and wakes. The kernel
//   compares the word with the sleep's value atomically against wake-ups, so a set() between the
//   CAS and the sleep makes the sleep return at once. (The polling backends re-read the word.)
// - Nothing a waiter does can block others: it never holds the word in a state that someone
//   waits to see change. Its only trace is its place in the count, which it removes when it
//   leaves; a waiter that dies first leaves the count too high, which costs each set() a wake-up
//   system call and nothing else. The count saturates, and a full count never changes again, so
//   it never drops below the number of sleepers (which would lose a wake-up).
#include <atomic>
#include <cstdint>

#include "exitleft/shared_auto_reset_event.hpp"
#include "exitleft/shared_manual_reset_event.hpp"
#include "exitleft/spin_wait.hpp"
#include "platform/word_wait.hpp"

namespace exitleft {
namespace {

using Word = std::atomic<std::uint32_t>;
using detail::kNoDeadline;
using detail::SteadyTime;

// One layout for both events (the auto-reset event leaves the generation bits at 0).
using Auto = SharedAutoResetEvent;
using Manual = SharedManualResetEvent;
static_assert(Auto::kSet == Manual::kSet && Auto::kWaiter == Manual::kWaiter &&
              Auto::kWaiterMask == Manual::kWaiterMask);
constexpr std::uint32_t kSet = Manual::kSet;
constexpr std::uint32_t kWaiter = Manual::kWaiter;
constexpr std::uint32_t kWaiterMask = Manual::kWaiterMask;
constexpr std::uint32_t kGenerationMask = ~(Manual::kGeneration - 1);
static_assert((kSet | kWaiterMask | kGenerationMask) == ~std::uint32_t{0});
static_assert((kSet & kWaiterMask) == 0 && (kWaiterMask & kGenerationMask) == 0);

// The waiter count with one more / one fewer. A full count is never changed again: while it is
// below full it has been exact all along, so leaving may lower it.
constexpr std::uint32_t counted(std::uint32_t s) noexcept {
  return (s & kWaiterMask) == kWaiterMask ? s : s + kWaiter;
}
constexpr std::uint32_t uncounted(std::uint32_t s) noexcept {
  return (s & kWaiterMask) == kWaiterMask ? s : s - kWaiter;
}

bool passed(SteadyTime deadline) noexcept {
  return deadline != kNoDeadline && deadline <= detail::SteadyClock::now();
}

// Waits until released, or until `deadline` passes. Consume (auto-reset): released means the
// signal is there, and the waiter takes it. Otherwise (manual-reset): released means the event
// is set, or a set or pulse happened since `first` (the word's generation moved on).
template <bool Consume>
bool wait_on(Word& word, std::uint32_t first, SteadyTime deadline) noexcept {
  // No sched_yield (basic_spin_wait.hpp). The same-CPU hint it reads is this thread's last
  // wake-up from the parking lot (a wake from another process never sets it): a thread whose
  // partners share its CPU parks at once here too.
  detail::BasicSpinWait<detail::StdSync, detail::SpinTail::Pause> spin;
  bool in_count = false;  // this waiter is in the word's waiter count
  std::uint32_t s = first;
  for (;;) {
    const bool released = (s & kSet) != 0 || (!Consume && ((s ^ first) & kGenerationMask) != 0);
    if (released) {
      if (!Consume && !in_count) return true;  // `s` was read with acquire (see the top)
      std::uint32_t next = in_count ? uncounted(s) : s;
      if constexpr (Consume) next &= ~kSet;
      // acquire: pairs with the release in set() / pulse() (see the top of this file).
      if (word.compare_exchange_weak(s, next, std::memory_order_acquire,
                                     std::memory_order_acquire)) {
        return true;
      }
      continue;
    }
    if (passed(deadline)) {
      if (!in_count) return false;
      // Leaving only lowers the count and never touches the signal, so it cannot undo a set()
      // (E4). acquire on failure: the new value may be a set, which the next round still takes
      // (leaving itself publishes nothing; the success order is acquire only because a failure
      // order may not be stronger).
      if (word.compare_exchange_weak(s, uncounted(s), std::memory_order_acquire,
                                     std::memory_order_acquire)) {
        return false;
      }
      continue;
    }
    if (!in_count) {
      // Spin a little first: a set may be moments away, and a hand-off between running
      // processes then needs no system call. An auto-reset waiter does not spin while others
      // are counted, so that it does not take signals meant for the sleepers they wake.
      if ((!Consume || !(s & kWaiterMask)) && spin.spin()) {
        // acquire: pairs with the release in set() / pulse().
        s = word.load(std::memory_order_acquire);
        continue;
      }
      // Counting publishes nothing: what matters is its place in the word's modification order
      // against set()'s RMW (see the top). acquire on failure: the new value may be a set to
      // take or observe (on success only because a failure order may not be stronger).
      if (!word.compare_exchange_weak(s, counted(s), std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        continue;
      }
      s = counted(s);
      in_count = true;
    }
    // Sleeps while the word still holds `s`: any change (a set, a pulse, a reset, another waiter
    // counting itself or leaving) ends it, and so may a spurious wake-up; the loop looks again.
    // The result is not needed: the loop checks the deadline itself.
    platform::wait_shared(word, s, deadline);
    // acquire: pairs with the release in set() / pulse().
    s = word.load(std::memory_order_acquire);
  }
}

}  // namespace

bool SharedAutoResetEvent::wait_slow(SteadyTime deadline) noexcept {
  // relaxed: the signal is only ever taken by the acquire CAS in wait_on().
  return wait_on<true>(word_, word_.load(std::memory_order_relaxed), deadline);
}

void SharedAutoResetEvent::wake_slow() noexcept {
  platform::wake_one_shared(&word_);
}

bool SharedManualResetEvent::wait_slow(std::uint32_t first, SteadyTime deadline) noexcept {
  return wait_on<false>(word_, first, deadline);
}

void SharedManualResetEvent::wake_slow() noexcept {
  platform::wake_all_shared(&word_);
}

}  // namespace exitleft
