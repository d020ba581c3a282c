// Replaces the global allocation functions to count calls. Linked into every test program
// (the function below is referenced by AllocationCounter, which pulls this object in).
#include "tests/support/alloc_counter.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace exitleft::test {
namespace {
std::atomic<std::size_t> g_allocations{0};

void* counted(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Over-allocates and keeps the pointer malloc returned just below the aligned block (portable
// to C runtimes without aligned_alloc, such as MinGW's).
void* counted_aligned(std::size_t size, std::align_val_t align) {
  const auto alignment = static_cast<std::size_t>(align);
  void* raw = counted(size + alignment + sizeof(void*));
  auto base = reinterpret_cast<std::uintptr_t>(raw) + sizeof(void*);
  base = (base + alignment - 1) & ~(alignment - 1);
  reinterpret_cast<void**>(base)[-1] = raw;
  return reinterpret_cast<void*>(base);
}

void free_aligned(void* p) noexcept {
  if (p != nullptr) std::free(static_cast<void**>(p)[-1]);
}
}  // namespace

std::size_t allocations_so_far() noexcept { return g_allocations.load(std::memory_order_relaxed); }

}  // namespace exitleft::test

using exitleft::test::counted;
using exitleft::test::counted_aligned;
using exitleft::test::free_aligned;

void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void* operator new(std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
