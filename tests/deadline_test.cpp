// SPEC "Time": the deadline rules every blocking call shares (detail/deadline.hpp).
#include "exitleft/detail/deadline.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace {

using namespace std::chrono_literals;
using exitleft::detail::deadline_after;
using exitleft::detail::kAlreadyPassed;
using exitleft::detail::kNoDeadline;
using exitleft::detail::SteadyTime;
using exitleft::detail::wait_until_time_point;
using Clock = std::chrono::steady_clock;

TEST(Deadline, ZeroNegativeAndNanAreAlreadyPassed) {
  EXPECT_EQ(deadline_after(0ms), kAlreadyPassed);
  EXPECT_EQ(deadline_after(-1h), kAlreadyPassed);
  EXPECT_EQ(deadline_after(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
            kAlreadyPassed);
}

TEST(Deadline, HugeTimeoutsSaturateToForever) {
  EXPECT_EQ(deadline_after(std::chrono::nanoseconds::max()), kNoDeadline);
  EXPECT_EQ(deadline_after(std::chrono::hours::max()), kNoDeadline);
  EXPECT_EQ(deadline_after(std::chrono::duration<double>(1e300)), kNoDeadline);
  EXPECT_EQ(deadline_after(std::chrono::duration<double>(std::numeric_limits<double>::infinity())),
            kNoDeadline);
  // 200 years: beyond what steady_clock's nanoseconds can add to "now" on some systems, but
  // either way it must land in the future, never wrap into the past.
  EXPECT_GT(deadline_after(std::chrono::hours(24 * 365 * 200)), Clock::now());
}

TEST(Deadline, RelativeTimeoutsRoundUpNeverEarly) {
  const auto before = Clock::now();
  const SteadyTime d = deadline_after(std::chrono::duration<double, std::nano>(0.3));
  EXPECT_GT(d, before) << "a positive timeout shorter than a tick still waits one tick";
  const auto before2 = Clock::now();
  EXPECT_GE(deadline_after(1ms), before2 + 1ms);
}

TEST(Deadline, TimePointsOfAnyClockAndPrecision) {
  SteadyTime seen{};
  auto record = [&](SteadyTime d) {
    seen = d;
    return true;
  };
  wait_until_time_point(Clock::time_point::max(), record);
  EXPECT_EQ(seen, kNoDeadline);
  wait_until_time_point(std::chrono::system_clock::time_point::max(), record);
  EXPECT_EQ(seen, kNoDeadline);
  wait_until_time_point(std::chrono::time_point<Clock, std::chrono::hours>::max(), record);
  EXPECT_EQ(seen, kNoDeadline);
  wait_until_time_point(std::chrono::time_point<Clock, std::chrono::hours>(std::chrono::hours(
                            std::numeric_limits<std::chrono::hours::rep>::max() / 2)),
                        record);
  EXPECT_EQ(seen, kNoDeadline) << "a coarse time point beyond steady_clock's range saturates";
  wait_until_time_point(std::chrono::system_clock::now() - 1h, record);
  EXPECT_EQ(seen, kAlreadyPassed);
  const auto target = Clock::now() + 5s;
  wait_until_time_point(std::chrono::time_point_cast<std::chrono::microseconds>(target), record);
  EXPECT_GE(seen + 1us, target);
}

TEST(Deadline, OtherClocksAreRecheckedAfterASteadyTimeout) {
  // A steady wait that "times out" early (as when the system clock was set forward in the
  // meantime it would be late; here we simulate a steady timeout while the target on the system
  // clock is still ahead): the helper must look at the system clock again and keep waiting.
  int calls = 0;
  const auto target = std::chrono::system_clock::now() + 30ms;
  const bool r = wait_until_time_point(target, [&](SteadyTime d) {
    ++calls;
    if (d == kAlreadyPassed) return false;
    std::this_thread::sleep_for(5ms);  // return "timed out" before the real deadline
    return false;
  });
  EXPECT_FALSE(r);
  EXPECT_GE(calls, 3) << "re-checked on its own clock until it passed";
  EXPECT_GE(std::chrono::system_clock::now(), target);
}

}  // namespace
