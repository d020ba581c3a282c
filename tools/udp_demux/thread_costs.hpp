// What one thread of exitleft-udp-demux costs between two points: CPU time, context switches
// and system calls by kind (internal to tools/udp_demux/).
//
// CPU time and context switches come from getrusage(RUSAGE_THREAD) (Linux; elsewhere they read
// 0 and `measured` is false). System calls are counted by the kernel: one perf counter per kind
// on the syscalls:sys_enter_* tracepoints, for the calling thread only. That needs tracefs and
// the right to use tracepoints (root, or CAP_PERFMON, or perf_event_paranoid <= 1); without it
// `syscalls_counted` is false and the counts read 0. Counting in the kernel, not in the tool,
// sees the futex calls that std::mutex and std::condition_variable make inside glibc too.
#pragma once

#include <cstdint>

namespace exitleft::udp_demux {

struct ThreadCosts {
  double cpu_seconds = 0;         // user + system
  std::uint64_t voluntary = 0;    // context switches: the thread blocked
  std::uint64_t involuntary = 0;  // context switches: the thread was preempted
  std::uint64_t recvmmsg = 0;     // recvmmsg + recvfrom (the portable loop)
  std::uint64_t sendmmsg = 0;     // sendmmsg + sendto
  std::uint64_t futex = 0;        // futex + futex_waitv
  bool measured = false;          // CPU and switches were read
  bool syscalls_counted = false;  // the system call counts were read

  ThreadCosts& operator+=(const ThreadCosts& o) noexcept;
};

// Measures the thread that constructs it: start() marks the beginning, stop() returns the costs
// since then. Construct, start and stop on the same thread.
class ThreadCostMeter {
 public:
  ThreadCostMeter() noexcept;
  ~ThreadCostMeter();
  ThreadCostMeter(const ThreadCostMeter&) = delete;
  ThreadCostMeter& operator=(const ThreadCostMeter&) = delete;

  void start() noexcept;
  ThreadCosts stop() noexcept;
  bool started() const noexcept { return started_; }

 private:
  static constexpr int kKinds = 6;  // recvmmsg recvfrom sendmmsg sendto futex futex_waitv
  int fds_[kKinds];
  bool counting_ = false;
  bool started_ = false;
  ThreadCosts begin_;
};

}  // namespace exitleft::udp_demux
