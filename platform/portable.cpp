// Portable backend: a fixed table of std::mutex + std::condition_variable buckets, hashed by
// address. Runs on any OS with a C++20 standard library; forced with EXITLEFT_BACKEND=portable.
//
// Several addresses share a bucket, so wake_one must notify_all: notify_one could pick a waiter
// of another address and leave ours asleep. Those extra wake-ups are the spurious returns the
// contract allows. wake_* lock the bucket mutex before notifying; a waiter checks the word under
// the same mutex, so a store made before wake_* is seen either by that check or by the wake-up.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "platform/wait_on_address.hpp"

namespace exitleft::platform {
namespace {

struct alignas(64) Bucket {
  std::mutex mutex;
  std::condition_variable cv;
};

constexpr std::size_t kBuckets = 256;  // a power of two

// Constructed in place so that reset_after_fork() can construct the buckets again.
alignas(Bucket) unsigned char storage[sizeof(Bucket) * kBuckets];

Bucket* make_buckets() noexcept {
  auto* buckets = reinterpret_cast<Bucket*>(storage);
  for (std::size_t i = 0; i < kBuckets; ++i) new (&buckets[i]) Bucket;
  return buckets;
}

Bucket* buckets() noexcept {
  // Never destroyed: threads may wait while static destructors run at exit.
  static Bucket* const table = [] {
    Bucket* b = make_buckets();
    register_fork_handlers(nullptr, nullptr, [] { Portable::reset_after_fork(); });
    return b;
  }();
  return table;
}

Bucket& bucket_for(const Word* word) noexcept {
  // Fibonacci hashing of the address; the low bits of an aligned address carry no information.
  const auto a = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(word));
  return buckets()[(a * 0x9E3779B97F4A7C15ull) >> 56];
}

}  // namespace

bool Portable::wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  Bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  // relaxed: a store made before a wake_* call is ordered by the bucket mutex (see above).
  if (word.load(std::memory_order_relaxed) != expected) return true;
  if (deadline == kForever) {
    b.cv.wait(lock);
    return true;
  }
  return b.cv.wait_until(lock, deadline) == std::cv_status::no_timeout || Clock::now() < deadline;
}

void Portable::wake_one(const Word* word) noexcept { wake_all(word); }

void Portable::wake_all(const Word* word) noexcept {
  Bucket& b = bucket_for(word);
  { std::lock_guard lock(b.mutex); }
  b.cv.notify_all();
}

void Portable::reset_after_fork() noexcept {
  // The parent's other threads do not exist in the child; whatever they held is abandoned.
  // The old objects are not destroyed (a locked mutex may not be destroyed), only replaced.
  make_buckets();
}

}  // namespace exitleft::platform
