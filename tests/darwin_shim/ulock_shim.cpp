// The macOS ulock calls on Linux, for testing platform/ulock_darwin.cpp (see ulock_shim.hpp).
// UL_COMPARE_AND_WAIT maps to a private futex, UL_COMPARE_AND_WAIT_SHARED to a shared one.
#include "tests/darwin_shim/ulock_shim.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <mutex>

namespace shim = exitleft::test::ulock_shim;

namespace {

// Flags each call accepts (ULF_WAIT_MASK and ULF_WAKE_MASK in XNU); anything else is EINVAL.
constexpr std::uint32_t kWaitFlags = shim::kNoErrno | 0x00010000 | 0x00020000 | 0x00040000;
constexpr std::uint32_t kWakeFlags = shim::kNoErrno | shim::kWakeAll | shim::kWakeThread | 0x400;

// Records and injections: written by every caller, read by the test thread.
std::mutex g_mutex;
// A fork() while another thread held g_mutex would leave it locked forever in the child (whose
// only thread then hung in its first wait: 7 of 150 runs of the fork test). The kernel calls
// this stands in for have no such lock: hold it across fork(), as the C library does its own.
const int g_fork_handlers =
    pthread_atfork([] { g_mutex.lock(); }, [] { g_mutex.unlock(); }, [] { g_mutex.unlock(); });
shim::WaitRecord g_last_wait;
shim::WakeRecord g_last_wake;
int g_wait_error = 0;
int g_wait_failures = 0;
int g_wake_error = 0;
int g_wake_failures = 0;

// Counters: relaxed, they are only read after the calls they count have returned (joined
// threads, or the test's own calls).
std::atomic<std::uint64_t> g_legacy_waits{0};
std::atomic<std::uint64_t> g_wait2s{0};
std::atomic<std::uint64_t> g_wakes{0};
std::atomic<std::uint64_t> g_wake_alls{0};
std::atomic<std::uint64_t> g_errno_style{0};
std::atomic<int> g_in_wait{0};

// Valid opcode for the compare-and-wait family; sets `private_futex`.
bool decode_opcode(std::uint32_t operation, bool& private_futex) {
  switch (operation & shim::kOpcodeMask) {
    case shim::kCompareAndWait:
      private_futex = true;
      return true;
    case shim::kCompareAndWaitShared:
      private_futex = false;
      return true;
    default:
      return false;
  }
}

// Turns an internal result (>= 0, or -errno) into the caller's convention. With ULF_NO_ERRNO
// errno keeps the value it had on entry (the shim's own futex calls may have changed it).
int deliver(std::uint32_t operation, int result, int entry_errno) {
  if ((operation & shim::kNoErrno) != 0) {
    errno = entry_errno;
    return result;
  }
  if (result >= 0) return result;
  errno = -result;
  return -1;
}

int do_wait(shim::WaitCall call, std::uint32_t operation, void* addr, std::uint64_t value,
            std::uint64_t timeout, std::uint64_t timeout_ns, std::uint64_t value2) {
  const int entry_errno = errno;
  (call == shim::WaitCall::kWait ? g_legacy_waits : g_wait2s)
      .fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kNoErrno) == 0) g_errno_style.fetch_add(1, std::memory_order_relaxed);

  int result = 0;
  bool injected = false;
  bool private_futex = true;
  {
    std::lock_guard lock(g_mutex);
    if (g_wait_failures > 0) {
      --g_wait_failures;
      result = -g_wait_error;
      injected = true;
    }
  }
  if (injected) {
    // answered above
  } else if (!decode_opcode(operation, private_futex) ||
             (operation & ~shim::kOpcodeMask & ~kWaitFlags) != 0 || addr == nullptr ||
             reinterpret_cast<std::uintptr_t>(addr) % 4 != 0) {
    result = -EINVAL;
  } else if (value > UINT32_MAX) {
    result = 0;  // a 32-bit word never equals it: "already differs", no error
  } else {
    timespec ts{};
    const timespec* relative = nullptr;  // timeout 0: no timeout
    if (timeout_ns != 0) {
      ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
      relative = &ts;
    }
    const int op = FUTEX_WAIT | (private_futex ? FUTEX_PRIVATE_FLAG : 0);
    g_in_wait.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: polled by tests, no partner
    const long r =
        syscall(SYS_futex, addr, op, static_cast<std::uint32_t>(value), relative, nullptr, 0);
    const int error = errno;
    g_in_wait.fetch_sub(1, std::memory_order_seq_cst);
    if (r == 0 || error == EAGAIN) {
      result = 0;  // woken, or the word differed: both are success for a ulock wait
    } else {
      result = -error;  // EINTR, ETIMEDOUT, EFAULT
    }
  }
  {
    std::lock_guard lock(g_mutex);
    g_last_wait = shim::WaitRecord{call, operation, addr, value, timeout, value2, result};
  }
  return deliver(operation, result, entry_errno);
}

}  // namespace

extern "C" int __ulock_wait(std::uint32_t operation, void* addr, std::uint64_t value,
                            std::uint32_t timeout_us) {
  return do_wait(shim::WaitCall::kWait, operation, addr, value, timeout_us,
                 std::uint64_t{timeout_us} * 1000, 0);
}

#if !defined(EXITLEFT_ULOCK_SHIM_NO_WAIT2)
extern "C" int __ulock_wait2(std::uint32_t operation, void* addr, std::uint64_t value,
                             std::uint64_t timeout_ns, std::uint64_t value2) {
  return do_wait(shim::WaitCall::kWait2, operation, addr, value, timeout_ns, timeout_ns, value2);
}
#endif

extern "C" int __ulock_wake(std::uint32_t operation, void* addr, std::uint64_t wake_value) {
  const int entry_errno = errno;
  g_wakes.fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kWakeAll) != 0) g_wake_alls.fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kNoErrno) == 0) g_errno_style.fetch_add(1, std::memory_order_relaxed);

  int result = 0;
  bool injected = false;
  bool private_futex = true;
  {
    std::lock_guard lock(g_mutex);
    if (g_wake_failures > 0) {
      --g_wake_failures;
      result = -g_wake_error;
      injected = true;
    }
  }
  if (injected) {
    // answered above
  } else if (!decode_opcode(operation, private_futex) ||
             (operation & ~shim::kOpcodeMask & ~kWakeFlags) != 0 ||
             (operation & shim::kWakeThread) != 0 || addr == nullptr) {
    result = -EINVAL;  // ULF_WAKE_THREAD needs a thread port: not emulated
  } else {
    const int op = FUTEX_WAKE | (private_futex ? FUTEX_PRIVATE_FLAG : 0);
    const int count = (operation & shim::kWakeAll) != 0 ? INT_MAX : 1;
    const long woken = syscall(SYS_futex, addr, op, count, nullptr, nullptr, 0);
    if (woken < 0) {
      result = -errno;
    } else {
      result = woken == 0 ? -ENOENT : 0;  // XNU: no waiter on this address is ENOENT
    }
  }
  {
    std::lock_guard lock(g_mutex);
    g_last_wake = shim::WakeRecord{operation, addr, wake_value, result};
  }
  return deliver(operation, result, entry_errno);
}

namespace exitleft::test::ulock_shim {

bool provides_wait2() noexcept {
#if defined(EXITLEFT_ULOCK_SHIM_NO_WAIT2)
  return false;
#else
  return true;
#endif
}

void reset() noexcept {
  std::lock_guard lock(g_mutex);
  g_last_wait = WaitRecord{};
  g_last_wake = WakeRecord{};
  g_wait_error = g_wait_failures = g_wake_error = g_wake_failures = 0;
  for (auto* counter : {&g_legacy_waits, &g_wait2s, &g_wakes, &g_wake_alls, &g_errno_style}) {
    counter->store(0, std::memory_order_relaxed);
  }
}

void fail_next_waits(int error, int count) noexcept {
  std::lock_guard lock(g_mutex);
  g_wait_error = error;
  g_wait_failures = count;
}

void fail_next_wakes(int error, int count) noexcept {
  std::lock_guard lock(g_mutex);
  g_wake_error = error;
  g_wake_failures = count;
}

WaitRecord last_wait() noexcept {
  std::lock_guard lock(g_mutex);
  return g_last_wait;
}

WakeRecord last_wake() noexcept {
  std::lock_guard lock(g_mutex);
  return g_last_wake;
}

std::uint64_t legacy_wait_calls() noexcept {
  return g_legacy_waits.load(std::memory_order_relaxed);
}
std::uint64_t wait2_calls() noexcept {
  return g_wait2s.load(std::memory_order_relaxed);
}
std::uint64_t wake_calls() noexcept {
  return g_wakes.load(std::memory_order_relaxed);
}
std::uint64_t wake_all_calls() noexcept {
  return g_wake_alls.load(std::memory_order_relaxed);
}
std::uint64_t errno_style_calls() noexcept {
  return g_errno_style.load(std::memory_order_relaxed);
}
int threads_in_wait() noexcept {
  return g_in_wait.load(std::memory_order_seq_cst);
}

}  // namespace exitleft::test::ulock_shim
