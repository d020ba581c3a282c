// ThreadCostMeter: getrusage(RUSAGE_THREAD) and per-thread perf counters on syscall tracepoints.
#include "tools/udp_demux/thread_costs.hpp"

#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <iterator>
#endif

namespace exitleft::udp_demux {

ThreadCosts& ThreadCosts::operator+=(const ThreadCosts& o) noexcept {
  cpu_seconds += o.cpu_seconds;
  voluntary += o.voluntary;
  involuntary += o.involuntary;
  recvmmsg += o.recvmmsg;
  sendmmsg += o.sendmmsg;
  futex += o.futex;
  measured = measured || o.measured;
  syscalls_counted = syscalls_counted || o.syscalls_counted;
  return *this;
}

#ifdef __linux__
namespace {

constexpr const char* kTracepoints[] = {"recvmmsg", "recvfrom", "sendmmsg",
                                        "sendto",   "futex",    "futex_waitv"};
constexpr int kFutex = 4;  // the one kind that must be countable for the counts to mean anything

// The id of syscalls:sys_enter_<name>, or -1 (no tracefs, no such system call, no permission).
long tracepoint_id(const char* name) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    char path[160];
    std::snprintf(path, sizeof path, "%s/events/syscalls/sys_enter_%s/id", root, name);
    if (std::FILE* f = std::fopen(path, "r")) {
      long id = -1;
      if (std::fscanf(f, "%ld", &id) != 1) id = -1;
      std::fclose(f);
      return id;
    }
  }
  return -1;
}

// The ids are looked up once per process.
const long* tracepoint_ids() {
  static const auto ids = [] {
    struct Ids {
      long v[std::size(kTracepoints)];
    } r{};
    for (std::size_t i = 0; i < std::size(kTracepoints); ++i)
      r.v[i] = tracepoint_id(kTracepoints[i]);
    return r;
  }();
  return ids.v;
}

int open_counter(long id) {
  if (id < 0) return -1;
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = static_cast<unsigned long long>(id);
  attr.disabled = 1;
  // pid 0, cpu -1: this thread, on any CPU.
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}

std::uint64_t read_counter(int fd) {
  std::uint64_t v = 0;
  if (fd < 0 || read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) return 0;
  return v;
}

ThreadCosts sample(const int* fds, bool counting) {
  ThreadCosts c;
  rusage u{};
  if (getrusage(RUSAGE_THREAD, &u) == 0) {
    c.cpu_seconds = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                    static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
    c.voluntary = static_cast<std::uint64_t>(u.ru_nvcsw);
    c.involuntary = static_cast<std::uint64_t>(u.ru_nivcsw);
    c.measured = true;
  }
  if (counting) {
    c.recvmmsg = read_counter(fds[0]) + read_counter(fds[1]);
    c.sendmmsg = read_counter(fds[2]) + read_counter(fds[3]);
    c.futex = read_counter(fds[4]) + read_counter(fds[5]);
    c.syscalls_counted = true;
  }
  return c;
}

}  // namespace

ThreadCostMeter::ThreadCostMeter() noexcept {
  const long* ids = tracepoint_ids();
  for (int i = 0; i < kKinds; ++i) fds_[i] = open_counter(ids[i]);
  counting_ = fds_[kFutex] >= 0;
}

ThreadCostMeter::~ThreadCostMeter() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

void ThreadCostMeter::start() noexcept {
  for (int fd : fds_) {
    if (fd < 0) continue;
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  }
  begin_ = sample(fds_, counting_);
  started_ = true;
}

ThreadCosts ThreadCostMeter::stop() noexcept {
  if (!started_) return {};
  const ThreadCosts end = sample(fds_, counting_);
  ThreadCosts d = end;
  d.cpu_seconds = end.cpu_seconds - begin_.cpu_seconds;
  d.voluntary = end.voluntary - begin_.voluntary;
  d.involuntary = end.involuntary - begin_.involuntary;
  d.recvmmsg = end.recvmmsg - begin_.recvmmsg;
  d.sendmmsg = end.sendmmsg - begin_.sendmmsg;
  d.futex = end.futex - begin_.futex;
  return d;
}

#else  // not Linux: nothing is measured

ThreadCostMeter::ThreadCostMeter() noexcept {
  for (int& fd : fds_) fd = -1;
}
ThreadCostMeter::~ThreadCostMeter() = default;
void ThreadCostMeter::start() noexcept {
  started_ = true;
}
ThreadCosts ThreadCostMeter::stop() noexcept {
  return {};
}

#endif

}  // namespace exitleft::udp_demux
