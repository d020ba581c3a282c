// Time limits shared by the test programs.
#pragma once

#include <chrono>

namespace exitleft::test {

// The watchdog in test_main.cpp aborts a test that runs longer than this (ctest's TIMEOUT is
// the outer bound for the whole program).
inline constexpr std::chrono::seconds kTestTimeLimit{60};

// How long a test waits for something that should happen "at once" before calling it lost.
// Generous: the machines we run on are small, shared and sometimes run sanitizers or Wine.
inline constexpr std::chrono::seconds kPatience{20};

}  // namespace exitleft::test
