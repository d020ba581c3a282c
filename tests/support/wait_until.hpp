// Polling helpers for tests: wait (boundedly) until a condition holds.
#pragma once

#include <chrono>
#include <thread>

#include "tests/support/watchdog.hpp"

namespace exitleft::test {

// Polls `condition` until it returns true or `limit` passes; returns its last value.
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds limit = kPatience) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace exitleft::test
