// Portable backend: a fixed table of std::mutex + std::condition_variable buckets, hashed by
// address. Runs on any OS with a C++20 standard library; forced with EXITLEFT_BACKEND=portable.
//
// Several addresses share a bucket, so wake_one must notify_all: notify_one could pick a waiter
// of another address and leave ours asleep. Those extra wake-ups are the spurious returns the
// contract allows. wake_* lock the bucket mutex before notifying; a waiter checks the word under
// the same mutex, so a store made before wake_* is seen either by that check or by the wake-up.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "exitleft/detail/key_hash.hpp"
#include "platform/word_wait.hpp"

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

void buckets_after_fork() noexcept {
  Portable::reset_after_fork();
}
using TheBuckets = ProcessWide<Bucket, make_buckets, buckets_after_fork>;
Bucket* buckets() noexcept {
  return &TheBuckets::get();
}
[[maybe_unused]] Bucket* const eager_buckets = buckets();  // before main(): see fork.hpp

Bucket& bucket_for(const Word* word) noexcept {
  static_assert(kBuckets == 256);
  return buckets()[exitleft::detail::key_hash(word, 8)];
}

}  // namespace

bool Portable::wait(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  Bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  // relaxed: a store made before a wake_* call is ordered by the bucket mutex (see above).
  if (word.load(std::memory_order_relaxed) != expected) return true;
  if (deadline == kNoDeadline) {
    b.cv.wait(lock);
    return true;
  }
  return b.cv.wait_until(lock, deadline) == std::cv_status::no_timeout || Clock::now() < deadline;
}

void Portable::wake_one(const Word* word) noexcept {
  wake_all(word);
}

void Portable::wake_all(const Word* word) noexcept {
  Bucket& b = bucket_for(word);
  { std::lock_guard lock(b.mutex); }
  b.cv.notify_all();
}

// Process-shared waits. The buckets live in this process, so a store made by another process
// comes with no notification: wait_shared polls. It sleeps on the bucket's condition variable
// (which a wake_*_shared from this process ends at once) for a slice, then re-reads the word;
// the slices double from kFirstSlice up to kMaxSlice, so a waiter that is not woken costs one
// re-read per millisecond once it has waited a little while. It returns when the word differs or
// the deadline passes, never after a mere slice: the back-off state stays on this stack.
namespace {
constexpr std::chrono::microseconds kFirstSlice{20};
constexpr std::chrono::microseconds kMaxSlice{1000};
}  // namespace

bool Portable::wait_shared(const Word& word, std::uint32_t expected, Deadline deadline) noexcept {
  Bucket& b = bucket_for(&word);
  Clock::duration slice = kFirstSlice;
  std::unique_lock lock(b.mutex);
  for (;;) {
    // relaxed: the caller re-reads the word with its own ordering. A store from this process
    // made before its wake_*_shared is ordered by the bucket mutex, as in wait().
    if (word.load(std::memory_order_relaxed) != expected) return true;
    const Deadline now = Clock::now();
    if (now >= deadline) return false;  // (deadline > now below: no overflow in the subtraction)
    b.cv.wait_until(lock, deadline - now > slice ? now + slice : deadline);
    slice = std::min<Clock::duration>(slice * 2, kMaxSlice);
  }
}

void Portable::wake_one_shared(const Word* word) noexcept {
  wake_all(word);
}

void Portable::wake_all_shared(const Word* word) noexcept {
  wake_all(word);
}

void Portable::reset_after_fork() noexcept {
  // The parent's other threads do not exist in the child; whatever they held is abandoned.
  // The old objects are not destroyed (a locked mutex may not be destroyed), only replaced.
  make_buckets();
}

}  // namespace exitleft::platform
