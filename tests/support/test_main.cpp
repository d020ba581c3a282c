// main() for every exitleft test program: GoogleTest plus a watchdog, so that a bug that would
// hang a test (a lost wake-up, a stranded thread) fails it with a message instead.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tests/support/watchdog.hpp"

namespace exitleft::test {
namespace {

class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  // Returns once the watchdog thread runs: under a sanitizer the allocation counter
  // (alloc_counter.cpp) sees every thread's mallocs, and a thread whose start-up (its stack,
  // TLS, first wait) fell inside a test's counted window made an allocation-free path look
  // allocating (Wait.MultiWaitsAllocateNothing in CI under ASan).
  explicit Watchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { run(); }) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return running_; });
  }
  ~Watchdog() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard lock(mutex_);
    current_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = std::chrono::steady_clock::now() + limit_;
    cv_.notify_all();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    deadline_.reset();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    running_ = true;
    cv_.notify_all();
    while (!stop_) {
      if (!deadline_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, *deadline_) == std::cv_status::timeout && deadline_ &&
          std::chrono::steady_clock::now() >= *deadline_) {
        std::fprintf(stderr, "\nwatchdog: %s still running after %lld s: aborting\n",
                     current_.c_str(), static_cast<long long>(limit_.count()));
        std::fflush(stderr);
        std::abort();
      }
    }
  }

  const std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::string current_;
  bool stop_ = false;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace
}  // namespace exitleft::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* listener = new exitleft::test::Watchdog(exitleft::test::kTestTimeLimit);
  ::testing::UnitTest::GetInstance()->listeners().Append(listener);  // gtest owns it
  return RUN_ALL_TESTS();
}
