// Windows backend (Windows 8 and later): WaitOnAddress / WakeByAddressSingle / WakeByAddressAll
// from the synchronization API (Synchronization.lib / libsynchronization.a).
//
// WaitOnAddress takes a relative timeout in whole milliseconds, and Windows' timer is coarse:
// a wait may end with ERROR_TIMEOUT a little before our steady_clock deadline. So the remaining
// time is rounded up (never wake early on purpose), capped below INFINITE (which would mean
// "forever"), and a timeout that ends before the deadline simply waits again for what is left.
// Only Clock::now() >= deadline makes wait() return false. WaitOnAddress may also return
// spuriously and does not wake in FIFO order; both are allowed by the contract (callers loop).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <chrono>
#include <cstdint>

#include "platform/word_wait.hpp"

namespace exitleft::platform {
namespace {

static_assert(sizeof(Word) == sizeof(std::uint32_t), "WaitOnAddress compares the word's 4 bytes");

// The longest single WaitOnAddress timeout: INFINITE (0xFFFFFFFF) itself means "no timeout".
constexpr DWORD kMaxTimeoutMs = INFINITE - 1;

// Milliseconds from `now` until `deadline` (which is later), rounded up and capped.
DWORD timeout_ms(Clock::time_point now, Deadline deadline) noexcept {
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  if (remaining >= static_cast<long long>(kMaxTimeoutMs)) return kMaxTimeoutMs;
  return static_cast<DWORD>(remaining);
}

// WaitOnAddress and WakeByAddress* take non-const pointers but never write through them; the
// wake functions only hash the address.
void* address_of(const Word* word) noexcept {
  return const_cast<Word*>(word);
}

}  // namespace

bool WindowsWaitOnAddress::wait(const Word& word, std::uint32_t expected,
                                Deadline deadline) noexcept {
  for (;;) {
    DWORD ms = INFINITE;
    if (deadline != kNoDeadline) {
      const auto now = Clock::now();
      if (now >= deadline) {
        // Like the other backends, a word that already differs is reported before the deadline.
        // relaxed: only a hint; the caller re-reads the word with its own ordering.
        return word.load(std::memory_order_relaxed) != expected;
      }
      ms = timeout_ms(now, deadline);
    }
    // Returns at once (TRUE) if the word no longer holds `expected`; the comparison and the
    // sleep are atomic with respect to WakeByAddress*, so a store followed by a wake is never
    // lost.
    if (WaitOnAddress(address_of(&word), &expected, sizeof expected, ms)) return true;
    if (GetLastError() != ERROR_TIMEOUT) return true;  // not a timeout: look again
    // ERROR_TIMEOUT: if the deadline has not passed yet (rounding, the cap, a coarse timer),
    // the next iteration re-arms with what is left; otherwise it returns false.
  }
}

// Process-shared waits. WaitOnAddress only hears WakeByAddress* calls made in its own process,
// so wait_shared polls: it yields the processor for the first few rounds (a change that another
// process is about to make is seen without a timer), then waits on the address for 1 ms at a
// time (the shortest timeout it takes; the system timer may stretch it to one tick, 15.6 ms by
// default) and re-reads the word. A wake_*_shared from this process ends such a wait at once.
// It returns when the word differs or the deadline passes.
bool WindowsWaitOnAddress::wait_shared(const Word& word, std::uint32_t expected,
                                       Deadline deadline) noexcept {
  constexpr int kYieldRounds = 8;
  for (int round = 0;; ++round) {
    // relaxed: only a hint; the caller re-reads the word with its own ordering.
    if (word.load(std::memory_order_relaxed) != expected) return true;
    if (deadline != kNoDeadline && Clock::now() >= deadline) return false;
    if (round < kYieldRounds) {
      SwitchToThread();
    } else {
      // Returns at once if the word differs; a timeout or a wake just leads to the next look.
      WaitOnAddress(address_of(&word), &expected, sizeof expected, 1);
    }
  }
}

void WindowsWaitOnAddress::wake_one_shared(const Word* word) noexcept {
  wake_one(word);
}

void WindowsWaitOnAddress::wake_all_shared(const Word* word) noexcept {
  wake_all(word);
}

void WindowsWaitOnAddress::wake_one(const Word* word) noexcept {
  WakeByAddressSingle(address_of(word));
}

void WindowsWaitOnAddress::wake_all(const Word* word) noexcept {
  WakeByAddressAll(address_of(word));
}

}  // namespace exitleft::platform
