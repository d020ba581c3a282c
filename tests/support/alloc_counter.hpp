// Counts heap allocations made through operator new (replaced in alloc_counter.cpp) by every
// thread of the test program, to prove that a code path allocates nothing.
#pragma once

#include <cstddef>

namespace exitleft::test {

std::size_t allocations_so_far() noexcept;

class AllocationCounter {
 public:
  AllocationCounter() noexcept : start_(allocations_so_far()) {}
  std::size_t count() const noexcept { return allocations_so_far() - start_; }

 private:
  std::size_t start_;
};

}  // namespace exitleft::test
