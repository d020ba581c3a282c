// The macOS wait calls on Linux, for testing platform/ulock_darwin.cpp (see ulock_shim.hpp).
// UL_COMPARE_AND_WAIT and OS_SYNC_*_NONE map to a private futex, UL_COMPARE_AND_WAIT_SHARED and
// OS_SYNC_*_SHARED to a shared one.
#include "tests/darwin_shim/ulock_shim.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace shim = exitleft::test::ulock_shim;

namespace {

// Flags each ulock call accepts (ULF_WAIT_MASK and ULF_WAKE_MASK in XNU); others are EINVAL.
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
std::atomic<std::uint64_t> g_ulock_wakes{0};
std::atomic<std::uint64_t> g_os_sync_waits{0};
std::atomic<std::uint64_t> g_os_sync_timed_waits{0};
std::atomic<std::uint64_t> g_os_sync_wakes{0};
std::atomic<std::uint64_t> g_wake_alls{0};
std::atomic<std::uint64_t> g_errno_style{0};
std::atomic<int> g_in_wait{0};

std::atomic<std::uint64_t>& wait_counter(shim::WaitCall call) {
  switch (call) {
    case shim::WaitCall::kWait:
      return g_legacy_waits;
    case shim::WaitCall::kWait2:
      return g_wait2s;
    case shim::WaitCall::kOsSyncWait:
      return g_os_sync_waits;
    default:
      return g_os_sync_timed_waits;
  }
}

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

// Takes one injected failure, if any is pending: returns its -errno, or 0.
int take_injection(int& failures, int error) {
  std::lock_guard lock(g_mutex);
  if (failures == 0) return 0;
  --failures;
  return -error;
}

// Turns an internal result (>= 0, or -errno) into the ulock caller's convention. With
// ULF_NO_ERRNO errno keeps the value it had on entry (the shim's own futex calls may change it).
int deliver_ulock(std::uint32_t operation, int result, int entry_errno) {
  if ((operation & shim::kNoErrno) != 0) {
    errno = entry_errno;
    return result;
  }
  if (result >= 0) return result;
  errno = -result;
  return -1;
}

// The os_sync convention: -1 with errno set, or success with errno as it was on entry.
int deliver_os_sync(int result, int entry_errno) {
  if (result >= 0) {
    errno = entry_errno;
    return result;
  }
  errno = -result;
  return -1;
}

// Sleeps on the futex while *addr == value; `timeout_ns` 0 means no timeout. Returns 0 (woken,
// or the word differed: both are success for these calls) or -errno (EINTR, ETIMEDOUT, EFAULT).
int futex_wait(void* addr, std::uint32_t value, std::uint64_t timeout_ns, bool private_futex) {
  timespec ts{};
  const timespec* relative = nullptr;  // no timeout
  if (timeout_ns != 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    relative = &ts;
  }
  const int op = FUTEX_WAIT | (private_futex ? FUTEX_PRIVATE_FLAG : 0);
  g_in_wait.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: polled by tests, no partner
  const long r = syscall(SYS_futex, addr, op, value, relative, nullptr, 0);
  const int error = errno;
  g_in_wait.fetch_sub(1, std::memory_order_seq_cst);
  return r == 0 || error == EAGAIN ? 0 : -error;
}

// Wakes one or every waiter; 0, -ENOENT when nobody waited (as XNU answers), or -errno.
int futex_wake(void* addr, bool all, bool private_futex) {
  const int op = FUTEX_WAKE | (private_futex ? FUTEX_PRIVATE_FLAG : 0);
  const long woken = syscall(SYS_futex, addr, op, all ? INT_MAX : 1, nullptr, nullptr, 0);
  if (woken < 0) return -errno;
  return woken == 0 ? -ENOENT : 0;
}

void record(const shim::WaitRecord& w) {
  std::lock_guard lock(g_mutex);
  g_last_wait = w;
}
void record(const shim::WakeRecord& w) {
  std::lock_guard lock(g_mutex);
  g_last_wake = w;
}

int ulock_wait(shim::WaitCall call, std::uint32_t operation, void* addr, std::uint64_t value,
               std::uint64_t timeout, std::uint64_t timeout_ns, std::uint64_t value2) {
  const int entry_errno = errno;
  wait_counter(call).fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kNoErrno) == 0) g_errno_style.fetch_add(1, std::memory_order_relaxed);

  bool private_futex = true;
  int result = take_injection(g_wait_failures, g_wait_error);
  if (result != 0) {
    // answered above
  } else if (!decode_opcode(operation, private_futex) ||
             (operation & ~shim::kOpcodeMask & ~kWaitFlags) != 0 || addr == nullptr ||
             reinterpret_cast<std::uintptr_t>(addr) % 4 != 0) {
    result = -EINVAL;
  } else if (value > UINT32_MAX) {
    result = 0;  // a 32-bit word never equals it: "already differs", no error
  } else {
    result = futex_wait(addr, static_cast<std::uint32_t>(value), timeout_ns, private_futex);
  }
  shim::WaitRecord w;
  w.call = call;
  w.operation = operation;
  w.addr = addr;
  w.value = value;
  w.timeout = timeout;
  w.value2 = value2;
  w.result = result;
  record(w);
  return deliver_ulock(operation, result, entry_errno);
}

// [[maybe_unused]]: builds without the os_sync functions (EXITLEFT_ULOCK_SHIM_NO_OS_SYNC).
[[maybe_unused]] int os_sync_wait(shim::WaitCall call, void* addr, std::uint64_t value,
                                  std::size_t size, std::uint32_t flags, std::uint32_t clock,
                                  std::uint64_t timeout_ns) {
  const int entry_errno = errno;
  wait_counter(call).fetch_add(1, std::memory_order_relaxed);

  const bool timed = call == shim::WaitCall::kOsSyncWaitWithTimeout;
  int result = take_injection(g_wait_failures, g_wait_error);
  if (result != 0) {
    // answered above
  } else if (size != 4 || addr == nullptr || reinterpret_cast<std::uintptr_t>(addr) % size != 0 ||
             (flags & ~shim::kOsSyncWaitShared) != 0 ||
             (timed && (clock != shim::kMachAbsoluteTime || timeout_ns == 0))) {
    result = -EINVAL;
  } else {
    // Size 4: the upper 4 bytes of `value` are ignored.
    result = futex_wait(addr, static_cast<std::uint32_t>(value), timed ? timeout_ns : 0,
                        (flags & shim::kOsSyncWaitShared) == 0);
  }
  shim::WaitRecord w;
  w.call = call;
  w.flags = flags;
  w.addr = addr;
  w.value = value;
  w.size = size;
  w.clock = clock;
  w.timeout = timed ? timeout_ns : 0;
  w.result = result;
  record(w);
  return deliver_os_sync(result, entry_errno);
}

[[maybe_unused]] int os_sync_wake(shim::WakeCall call, void* addr, std::size_t size,
                                  std::uint32_t flags) {
  const int entry_errno = errno;
  const bool all = call == shim::WakeCall::kOsSyncWakeAll;
  g_os_sync_wakes.fetch_add(1, std::memory_order_relaxed);
  if (all) g_wake_alls.fetch_add(1, std::memory_order_relaxed);

  int result = take_injection(g_wake_failures, g_wake_error);
  if (result != 0) {
    // answered above
  } else if (size != 4 || addr == nullptr || (flags & ~shim::kOsSyncWakeShared) != 0) {
    result = -EINVAL;
  } else {
    result = futex_wake(addr, all, (flags & shim::kOsSyncWakeShared) == 0);
  }
  shim::WakeRecord w;
  w.call = call;
  w.flags = flags;
  w.addr = addr;
  w.size = size;
  w.result = result;
  record(w);
  return deliver_os_sync(result, entry_errno);
}

}  // namespace

// Always defined, whatever the build leaves out: the shim's CMakeLists.txt makes every program
// that links the shim reference this symbol, so that the linker takes the shim's object out of
// its archive even when the backend refers to it only weakly (a build without the private calls
// references only the weak os_sync functions, and weak references pull nothing from an archive).
// On macOS libSystem is always linked: this plays that part.
extern "C" {
int exitleft_darwin_shim_anchor = 0;
}

extern "C" int __ulock_wait(std::uint32_t operation, void* addr, std::uint64_t value,
                            std::uint32_t timeout_us) {
  return ulock_wait(shim::WaitCall::kWait, operation, addr, value, timeout_us,
                    std::uint64_t{timeout_us} * 1000, 0);
}

#if !defined(EXITLEFT_ULOCK_SHIM_NO_WAIT2)
extern "C" int __ulock_wait2(std::uint32_t operation, void* addr, std::uint64_t value,
                             std::uint64_t timeout_ns, std::uint64_t value2) {
  return ulock_wait(shim::WaitCall::kWait2, operation, addr, value, timeout_ns, timeout_ns, value2);
}
#endif

extern "C" int __ulock_wake(std::uint32_t operation, void* addr, std::uint64_t wake_value) {
  const int entry_errno = errno;
  g_ulock_wakes.fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kWakeAll) != 0) g_wake_alls.fetch_add(1, std::memory_order_relaxed);
  if ((operation & shim::kNoErrno) == 0) g_errno_style.fetch_add(1, std::memory_order_relaxed);

  bool private_futex = true;
  int result = take_injection(g_wake_failures, g_wake_error);
  if (result != 0) {
    // answered above
  } else if (!decode_opcode(operation, private_futex) ||
             (operation & ~shim::kOpcodeMask & ~kWakeFlags) != 0 ||
             (operation & shim::kWakeThread) != 0 || addr == nullptr) {
    result = -EINVAL;  // ULF_WAKE_THREAD needs a thread port: not emulated
  } else {
    result = futex_wake(addr, (operation & shim::kWakeAll) != 0, private_futex);
  }
  shim::WakeRecord w;
  w.call = shim::WakeCall::kUlockWake;
  w.operation = operation;
  w.addr = addr;
  w.wake_value = wake_value;
  w.result = result;
  record(w);
  return deliver_ulock(operation, result, entry_errno);
}

#if !defined(EXITLEFT_ULOCK_SHIM_NO_OS_SYNC)
extern "C" int os_sync_wait_on_address(void* addr, std::uint64_t value, std::size_t size,
                                       std::uint32_t flags) {
  return os_sync_wait(shim::WaitCall::kOsSyncWait, addr, value, size, flags, 0, 0);
}

extern "C" int os_sync_wait_on_address_with_timeout(void* addr, std::uint64_t value,
                                                    std::size_t size, std::uint32_t flags,
                                                    std::uint32_t clockid,
                                                    std::uint64_t timeout_ns) {
  return os_sync_wait(shim::WaitCall::kOsSyncWaitWithTimeout, addr, value, size, flags, clockid,
                      timeout_ns);
}

extern "C" int os_sync_wake_by_address_any(void* addr, std::size_t size, std::uint32_t flags) {
  return os_sync_wake(shim::WakeCall::kOsSyncWakeAny, addr, size, flags);
}

extern "C" int os_sync_wake_by_address_all(void* addr, std::size_t size, std::uint32_t flags) {
  return os_sync_wake(shim::WakeCall::kOsSyncWakeAll, addr, size, flags);
}
#endif

namespace exitleft::test::ulock_shim {

bool provides_os_sync() noexcept {
#if defined(EXITLEFT_ULOCK_SHIM_NO_OS_SYNC)
  return false;
#else
  return true;
#endif
}

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
  for (auto* counter : {&g_legacy_waits, &g_wait2s, &g_ulock_wakes, &g_os_sync_waits,
                        &g_os_sync_timed_waits, &g_os_sync_wakes, &g_wake_alls, &g_errno_style}) {
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

namespace {
std::uint64_t count(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);  // relaxed: see the counters' declaration
}
}  // namespace

std::uint64_t legacy_wait_calls() noexcept {
  return count(g_legacy_waits);
}
std::uint64_t wait2_calls() noexcept {
  return count(g_wait2s);
}
std::uint64_t ulock_wake_calls() noexcept {
  return count(g_ulock_wakes);
}
std::uint64_t ulock_calls() noexcept {
  return count(g_legacy_waits) + count(g_wait2s) + count(g_ulock_wakes);
}
std::uint64_t os_sync_wait_calls() noexcept {
  return count(g_os_sync_waits);
}
std::uint64_t os_sync_timed_wait_calls() noexcept {
  return count(g_os_sync_timed_waits);
}
std::uint64_t os_sync_calls() noexcept {
  return count(g_os_sync_waits) + count(g_os_sync_timed_waits) + count(g_os_sync_wakes);
}
std::uint64_t wait_calls() noexcept {
  return count(g_legacy_waits) + count(g_wait2s) + count(g_os_sync_waits) +
         count(g_os_sync_timed_waits);
}
std::uint64_t wake_calls() noexcept {
  return count(g_ulock_wakes) + count(g_os_sync_wakes);
}
std::uint64_t wake_all_calls() noexcept {
  return count(g_wake_alls);
}
std::uint64_t errno_style_calls() noexcept {
  return count(g_errno_style);
}
int threads_in_wait() noexcept {
  return g_in_wait.load(std::memory_order_seq_cst);
}

}  // namespace exitleft::test::ulock_shim
