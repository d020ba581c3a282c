// The parking lot's hash table: buckets of queued threads, each behind a WordLock (part of the
// lot's protocol, src/lot/lot.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "src/lot/thread_data.hpp"

namespace exitleft::parking_lot::detail {

template <class Sync>
struct alignas(64) Bucket {
  using Thread = ThreadData<Sync>;
  template <class T>
  using Var = typename Sync::template Var<T>;

  WordLock<Sync> lock;
  Var<Thread*> head{nullptr};
  Var<Thread*> tail{nullptr};
  Var<Deadline> fair_deadline{Deadline{}};
  Var<std::uint32_t> seed{1};

  void append(Thread* thread) noexcept {
    thread->next.store(nullptr);
    if (Thread* last = tail.load()) {
      last->next.store(thread);
    } else {
      head.store(thread);
    }
    tail.store(thread);
  }

  // Removes `thread`, whose predecessor in the queue is `prev` (null for the head).
  void unlink(Thread* prev, Thread* thread) noexcept {
    Thread* next = thread->next.load();
    if (prev != nullptr) {
      prev->next.store(next);
    } else {
      head.store(next);
    }
    if (tail.load() == thread) tail.store(prev);
  }

  // True about every 0.5 ms: the deadline is pushed a uniformly random 0..1 ms ahead each time
  // it passes, so that buckets do not fall into step.
  bool should_be_fair(Deadline now) noexcept {
    if (now <= fair_deadline.load()) return false;
    std::uint32_t x = seed.load();  // xorshift32
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    seed.store(x);
    fair_deadline.store(now + std::chrono::nanoseconds(x % 1'000'000));
    return true;
  }
};

template <class Sync>
struct HashTable {
  using Slot = Bucket<Sync>;

  HashTable(std::size_t bucket_count, HashTable* previous)
      : size(bucket_count),
        bits(log2(bucket_count)),
        buckets(new Slot[bucket_count]),
        prev(previous) {
    for (std::size_t i = 0; i < size; ++i) {
      buckets[i].seed.store(static_cast<std::uint32_t>(i) * 2654435761u + 1u);
    }
  }
  ~HashTable() { delete[] buckets; }
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;

  Slot& bucket_for(std::uintptr_t key) noexcept { return buckets[index_of(key)]; }
  std::size_t index_of(std::uintptr_t key) const noexcept {
    return exitleft::detail::key_hash(static_cast<std::uint64_t>(key), bits);
  }

  static unsigned log2(std::size_t n) noexcept {
    unsigned b = 0;
    while ((std::size_t{1} << b) < n) ++b;
    return b;
  }

  const std::size_t size;  // a power of two
  const unsigned bits;
  Slot* const buckets;
  HashTable* const prev;  // kept so that ~Lot can free every table
};

}  // namespace exitleft::parking_lot::detail
