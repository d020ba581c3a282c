// Linux backend: futex(2).
//
// FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC (FUTEX_WAIT would take a
// relative one, which drifts when a spurious wake-up restarts it). std::chrono::steady_clock is
// CLOCK_MONOTONIC in both libstdc++ and libc++, so a steady_clock time point is passed through
// unchanged; tests/platform_test.cpp checks that the two clocks agree.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cassert>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "platform/word_wait.hpp"

namespace exitleft::platform {
namespace {

long futex(const Word* word, int op, std::uint32_t value, const timespec* timeout,
           std::uint32_t bitset) noexcept {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, bitset);
}

// futex_waitv(2) (Linux 5.16+). The probe runs once, when the library loads (a namespace-scope
// constant, not a function-local static: nothing for a fork() to find half initialised). With no
// waiters the call is invalid (EINVAL) on a kernel that has it; ENOSYS on an older kernel, EPERM
// under a seccomp filter that refuses it, and anything else means "do not use it".
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on every architecture
#endif
bool probe_futex_waitv() noexcept {
  const long r = syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, CLOCK_MONOTONIC);
  return r == -1 && errno == EINVAL;
}
const bool kHaveFutexWaitv = probe_futex_waitv();

// The deadline as an absolute CLOCK_MONOTONIC timespec; false if it is before the clock's epoch.
bool to_timespec(Deadline deadline, timespec& ts) noexcept {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  if (ns <= 0) return false;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return true;
}

bool futex_wait(const Word& word, std::uint32_t expected, Deadline deadline, int private_flag) {
  timespec ts{};
  const timespec* timeout = nullptr;
  if (deadline != kNoDeadline) {
    if (!to_timespec(deadline, ts)) return false;  // before the clock's epoch: long past
    timeout = &ts;
  }
  const long r =
      futex(&word, FUTEX_WAIT_BITSET | private_flag, expected, timeout, FUTEX_BITSET_MATCH_ANY);
  // 0: woken (or spurious). EAGAIN: the word no longer held `expected`. EINTR: a signal.
  // All of these are "look again"; only ETIMEDOUT means the deadline passed. Anything else
  // (EFAULT, EINVAL, ENOSYS) is a bug of ours.
  assert((r == 0 || errno == EAGAIN || errno == EINTR || errno == ETIMEDOUT) &&
         "FUTEX_WAIT_BITSET failed");
  return !(r == -1 && errno == ETIMEDOUT);
}

void futex_wake(const Word* word, int count, int private_flag) {
  // FUTEX_WAKE never dereferences the address, so even a word whose owner is gone is fine.
  [[maybe_unused]] const long r =
      futex(word, FUTEX_WAKE | private_flag, static_cast<std::uint32_t>(count), nullptr, 0);
  assert(r >= 0 && "FUTEX_WAKE failed");
}

}  // namespace

bool LinuxFutex::wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return futex_wait(word, expected, deadline, FUTEX_PRIVATE_FLAG);
}
void LinuxFutex::wake_one(const Word* word) noexcept {
  futex_wake(word, 1, FUTEX_PRIVATE_FLAG);
}
void LinuxFutex::wake_all(const Word* word) noexcept {
  futex_wake(word, INT_MAX, FUTEX_PRIVATE_FLAG);
}

bool LinuxFutex::wait_shared(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  return futex_wait(word, expected, deadline, 0);
}
void LinuxFutex::wake_one_shared(const Word* word) noexcept {
  futex_wake(word, 1, 0);
}
void LinuxFutex::wake_all_shared(const Word* word) noexcept {
  futex_wake(word, INT_MAX, 0);
}

bool LinuxFutex::has_wait_either() noexcept {
  return kHaveFutexWaitv;
}

bool LinuxFutex::wait_either(const Word& a, std::uint32_t expected_a, const Word& b,
                             std::uint32_t expected_b, Deadline deadline) noexcept {
  timespec ts{};
  const timespec* timeout = nullptr;
  if (deadline != kNoDeadline) {
    if (!to_timespec(deadline, ts)) return false;  // before the clock's epoch: long past
    timeout = &ts;
  }
  futex_waitv waiters[2] = {};
  waiters[0].val = expected_a;
  waiters[0].uaddr = reinterpret_cast<std::uintptr_t>(&a);
  waiters[0].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
  waiters[1].val = expected_b;
  waiters[1].uaddr = reinterpret_cast<std::uintptr_t>(&b);
  waiters[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
  const long r = syscall(SYS_futex_waitv, waiters, 2, 0, timeout, CLOCK_MONOTONIC);
  // >= 0: woken on that word (or spurious). EAGAIN: a word no longer held its value. EINTR: a
  // signal. All of these are "look again"; only ETIMEDOUT means the deadline passed.
  assert((r >= 0 || errno == EAGAIN || errno == EINTR || errno == ETIMEDOUT) &&
         "futex_waitv failed");
  return !(r == -1 && errno == ETIMEDOUT);
}

}  // namespace exitleft::platform
