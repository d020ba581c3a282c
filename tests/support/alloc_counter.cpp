// Counts heap allocations. Linked into every test program (allocations_so_far() is referenced
// by AllocationCounter, which pulls this object in).
//
// Normally the global allocation functions are replaced. Under a sanitizer, whose runtime
// defines them itself (TSan refuses a second definition at link time), the sanitizer's
// allocator hooks count instead: they see every malloc, operator new included.
#include "tests/support/alloc_counter.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "tests/support/sanitizers.hpp"

#if defined(EXITLEFT_TEST_SANITIZED)
#include <sanitizer/allocator_interface.h>
#endif

namespace exitleft::test {
namespace {
std::atomic<std::size_t> g_allocations{0};

#if defined(EXITLEFT_TEST_SANITIZED)
void on_malloc(const volatile void*, std::size_t) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
void on_free(const volatile void*) {}
[[maybe_unused]] const int g_hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace

std::size_t allocations_so_far() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace exitleft::test
#else

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

std::size_t allocations_so_far() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace exitleft::test

using exitleft::test::counted;
using exitleft::test::counted_aligned;
using exitleft::test::free_aligned;

void* operator new(std::size_t size) {
  return counted(size);
}
void* operator new[](std::size_t size) {
  return counted(size);
}
void* operator new(std::size_t size, std::align_val_t a) {
  return counted_aligned(size, a);
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted_aligned(size, a);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  free_aligned(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  free_aligned(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  free_aligned(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  free_aligned(p);
}
#endif  // EXITLEFT_TEST_SANITIZED
