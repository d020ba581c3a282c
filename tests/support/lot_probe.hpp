// Looks into the parking lot from a test: how many threads are parked on an address right now.
// (unpark_filter with Skip walks the queue under the bucket lock and wakes nobody.)
#pragma once

#include <cstddef>

#include "exitleft/parking_lot.hpp"
#include "tests/support/wait_until.hpp"

namespace exitleft::test {

inline std::size_t parked_on(const void* key) {
  std::size_t n = 0;
  parking_lot::unpark_filter(
      key,
      [&](parking_lot::ParkToken) {
        ++n;
        return parking_lot::FilterOp::Skip;
      },
      [](parking_lot::UnparkResult) { return parking_lot::DEFAULT_UNPARK_TOKEN; });
  return n;
}

// Waits (boundedly) until exactly `n` threads are parked on `key`.
inline bool until_parked(const void* key, std::size_t n) {
  return eventually([&] { return parked_on(key) == n; });
}

}  // namespace exitleft::test
