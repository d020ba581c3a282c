// The parking lot's protocol, written once against a sync policy (see
// include/exitleft/detail/std_sync.hpp): src/lot/parking_lot.cpp runs it on std::atomic and the
// platform layer; tests/model/ runs it under Relacy, which explores the interleavings.
//
// Shape (after Rust's parking_lot_core):
// - A hash table of buckets; each bucket has a word lock and a FIFO queue of ThreadData, shared
//   by every key that hashes to it. Old tables are kept (never freed while the lot lives), so a
//   thread that read the table pointer a moment ago may still lock one of its buckets; it then
//   sees that the table changed and retries.
// - A parking thread queues itself under the bucket lock, then sleeps on its own `parked` word
//   through the sync policy's wait(). An unparker takes threads off the queue and sets their
//   tokens under the bucket lock, and releases (stores 0 and wakes) each of them after unlocking,
//   so that no system call runs under a bucket lock.
// - A thread whose deadline passes locks its bucket again. If it is still queued it leaves and
//   reports TimedOut; if an unparker already took it off the queue (`queued` is false) the
//   unparker is about to release it, so it waits for that and reports Unparked. Either way an
//   unpark that chose a thread is never lost.
// - The unparker touches a thread's ThreadData for the last time with the store of 0: after that
//   the thread may return and its ThreadData may die. The wake that follows only passes the
//   address to the OS, which never dereferences it.
// - Group wake-ups (where the sync policy offers them: Linux with futex_waitv). A parking thread
//   that joins others parked on its key records the group word of the key (a fixed table of
//   words, one per hash of the key) and sleeps on its own word and that group word at once. An
//   unparker that releases two or more threads stores 0 in each one's `parked` word without a
//   system call, then bumps each group word involved and wakes all of its sleepers with one call: a
//   broadcast to N threads costs one FUTEX_WAKE instead of N (the woken threads of other keys that
//   share the group see their `parked` still 1 and sleep again). The sleeper reads the group word
//   before `parked`, and the unparker stores `parked` before it bumps the group word: a sleeper
//   that reads the bumped value sees 0 in `parked`; one that read the old value is either woken by
//   the bump's wake-up or refused by the kernel's check of the group word. A single release
//   (unpark_one, requeue's hand-off) keeps the per-thread wake-up.
// - Same-CPU hand-offs (where the policy has current_cpu() and note_wake()). The unparker leaves
//   the CPU it runs on in each thread it takes off a queue; the woken thread compares it with
//   its own CPU and tells the policy, which remembers per thread whether its last wake-up came
//   from a thread on its own CPU. The signal waits do not spin after such a wake-up
//   (basic_spin_wait.hpp): the thread that will signal shares the CPU and cannot run meanwhile.
//   Only a hint; nothing in the protocol depends on it.
// - The table grows (3 buckets per registered thread) by allocating the new table first, then
//   locking every bucket of the old one, moving the queues over in order, and publishing it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "exitleft/detail/key_hash.hpp"
#include "src/lot/table.hpp"

namespace exitleft::parking_lot::detail {

// Group wake-ups (below): how many group words a policy keeps, and which one serves `key`
// (Fibonacci hashing: the low bits of an address carry little information).
inline constexpr std::size_t kGroupWords = 256;
inline constexpr std::size_t group_index(std::uintptr_t key) noexcept {
  return exitleft::detail::key_hash(static_cast<std::uint64_t>(key), 8);
}
static_assert(kGroupWords == std::size_t{1} << 8);

template <class Sync>
class Lot {
 public:
  using Thread = ThreadData<Sync>;
  using Slot = Bucket<Sync>;
  using Table = HashTable<Sync>;
  static constexpr std::size_t kLoadFactor = 3;  // buckets per registered thread

  explicit Lot(std::size_t min_buckets) : min_buckets_(min_buckets) {
    table_.store(new Table(buckets_for(0), nullptr), std::memory_order_relaxed);
  }
  ~Lot() {
    for (Table* t = table_.load(std::memory_order_relaxed); t != nullptr;) {
      Table* prev = t->prev;
      delete t;
      t = prev;
    }
  }
  Lot(const Lot&) = delete;
  Lot& operator=(const Lot&) = delete;

  // A thread announces itself before its first park; the table grows to fit.
  void register_thread() noexcept {
    grow(num_threads_.fetch_add(1, std::memory_order_relaxed) + 1);
  }
  void unregister_thread() noexcept { num_threads_.fetch_sub(1, std::memory_order_relaxed); }
  std::size_t registered_threads() const noexcept {
    return num_threads_.load(std::memory_order_relaxed);
  }
  std::size_t bucket_count() const noexcept { return current_table()->size; }

  // In a child process after fork(): the parent's other threads are gone, and so is whatever
  // they held (bucket locks, queue entries). Start over with an empty table; the old one is
  // abandoned as it is.
  void reset_after_fork() noexcept {
    Table* old = table_.load(std::memory_order_relaxed);
    table_.store(new Table(buckets_for(num_threads_.load(std::memory_order_relaxed)), old),
                 std::memory_order_release);  // release: pairs with current_table()
  }

  template <class Validate, class BeforeSleep, class TimedOut>
  ParkResult park(Thread& self, std::uintptr_t key, Validate&& validate, BeforeSleep&& before_sleep,
                  TimedOut&& timed_out, ParkToken token, Deadline deadline) noexcept {
    Slot& bucket = lock_bucket(key);
    if (!validate()) {
      bucket.lock.unlock();
      return {ParkResult::Kind::Invalid, DEFAULT_UNPARK_TOKEN};
    }
    self.key.store(key, std::memory_order_relaxed);  // relaxed: written under the bucket lock
    // Only a thread that joins others already parked on its key sleeps on the group word too:
    // a lone waiter (a hand-off, a ping-pong) keeps the cheaper single-word wait, and is
    // released with its own wake-up (release_all() wakes a thread without a group that way).
    self.group.store(any_with_key(bucket.head.load(), key) ? group_for(key) : nullptr);
    self.park_token.store(token);
    self.queued.store(true);
    // relaxed: the bucket lock orders this store before the unparker's release store of 0.
    self.parked.store(1, std::memory_order_relaxed);
    bucket.append(&self);
    bucket.lock.unlock();

    before_sleep();

    if (self.sleep_until(deadline)) return unparked(self);

    // The deadline passed. Leave the queue, unless an unparker has taken us off it already.
    auto [current_key, current] = lock_bucket_checked(self);
    if (!self.queued.load()) {
      current->lock.unlock();
      self.sleep_until(kNoDeadline);  // the unparker releases us right after its unlock
      return unparked(self);
    }
    leave_queue(*current, self, current_key, timed_out);
    current->lock.unlock();
    return {ParkResult::Kind::TimedOut, DEFAULT_UNPARK_TOKEN};
  }

  // Queues `node` (a coroutine's, with on_unpark set) on `key` if `validate()` returns true under
  // the bucket lock, as park() does, and returns at once: true if queued. An unparker later takes
  // it off the queue and calls its on_unpark after the unlock; or cancel_async() removes it.
  // A queued node counts as a registered thread while it is queued, so that the table grows
  // with coroutines as with threads (100 000 waiting coroutines in 64 buckets made every unpark
  // walk ~1 500 nodes).
  template <class Validate>
  bool park_async(Thread& node, std::uintptr_t key, Validate&& validate, ParkToken token) noexcept {
    register_thread();  // before the bucket lock: growing takes every bucket lock
    Slot& bucket = lock_bucket(key);
    if (!validate()) {
      bucket.lock.unlock();
      unregister_thread();
      return false;
    }
    node.key.store(key, std::memory_order_relaxed);  // relaxed: written under the bucket lock
    node.group.store(nullptr);                       // it never sleeps
    node.park_token.store(token);
    node.queued.store(true);
    node.parked.store(1, std::memory_order_relaxed);  // relaxed: as in park()
    bucket.append(&node);
    bucket.lock.unlock();
    return true;
  }

  // Takes `node`, queued by park_async() on `key` (never requeued), off the queue if it is still
  // there: then runs `removed(key, was_last)` under the bucket lock, as park()'s timed_out, and
  // returns true. False if an unparker took it first (it calls on_unpark).
  template <class Removed>
  bool cancel_async(Thread& node, std::uintptr_t key, Removed&& removed) noexcept {
    Slot& bucket = lock_bucket(key);
    if (!node.queued.load()) {  // under the bucket lock of the only key it queues on
      bucket.lock.unlock();
      return false;
    }
    node.queued.store(false);
    leave_queue(bucket, node, key, removed);
    bucket.lock.unlock();
    unregister_thread();
    return true;
  }

  template <class Callback>
  UnparkResult unpark_one(std::uintptr_t key, Callback&& callback) noexcept {
    Slot& bucket = lock_bucket(key);
    UnparkResult result;
    Thread* prev = nullptr;
    Thread* chosen = bucket.head.load();
    while (chosen != nullptr && !has_key(chosen, key)) {
      prev = chosen;
      chosen = chosen->next.load();
    }
    if (chosen != nullptr) {
      bucket.unlink(prev, chosen);
      result.unparked_threads = 1;
      result.have_more_threads = any_with_key(chosen->next.load(), key);
      result.be_fair = bucket.should_be_fair(Sync::now());
    }
    const UnparkToken token = callback(result);
    WakeList woken;
    if (chosen != nullptr) woken.add(chosen, token);
    bucket.lock.unlock();
    release(woken);
    return result;
  }

  std::size_t unpark_all(std::uintptr_t key, UnparkToken token) noexcept {
    Slot& bucket = lock_bucket(key);
    WakeList woken;
    Thread* prev = nullptr;
    for (Thread* t = bucket.head.load(); t != nullptr;) {
      Thread* next = t->next.load();
      if (has_key(t, key)) {
        bucket.unlink(prev, t);
        woken.add(t, token);
      } else {
        prev = t;
      }
      t = next;
    }
    bucket.lock.unlock();
    return release(woken);
  }

  template <class Validate, class Callback>
  UnparkResult unpark_requeue(std::uintptr_t from, std::uintptr_t to, Validate&& validate,
                              Callback&& callback) noexcept {
    auto [source, target] = lock_bucket_pair(from, to);
    UnparkResult result;
    const RequeueOp op = validate();
    if (op == RequeueOp::Abort) {
      unlock_pair(source, target);
      return result;
    }
    const bool wake_first = op == RequeueOp::UnparkOneRequeueRest || op == RequeueOp::UnparkOne;
    const bool just_one = op == RequeueOp::UnparkOne || op == RequeueOp::RequeueOne;
    Thread* chosen = nullptr;
    Thread* moved_head = nullptr;
    Thread* moved_tail = nullptr;
    Thread* prev = nullptr;
    for (Thread* t = source->head.load(); t != nullptr;) {
      Thread* next = t->next.load();
      if (!has_key(t, from)) {
        prev = t;
        t = next;
        continue;
      }
      source->unlink(prev, t);
      if (wake_first && chosen == nullptr) {
        chosen = t;
        result.unparked_threads = 1;
      } else {
        // relaxed: under both bucket locks; a timed-out thread re-reads it under the lock.
        t->key.store(to, std::memory_order_relaxed);
        t->next.store(nullptr);
        if (moved_tail != nullptr) {
          moved_tail->next.store(t);
        } else {
          moved_head = t;
        }
        moved_tail = t;
        ++result.requeued_threads;
      }
      if (just_one) {
        result.have_more_threads = any_with_key(next, from);
        break;
      }
      t = next;
    }
    for (Thread* t = moved_head; t != nullptr;) {  // append keeps their order
      Thread* next = t->next.load();
      target->append(t);
      t = next;
    }
    if (chosen != nullptr) result.be_fair = source->should_be_fair(Sync::now());
    const UnparkToken token = callback(op, result);
    WakeList woken;
    if (chosen != nullptr) woken.add(chosen, token);
    unlock_pair(source, target);
    release(woken);
    return result;
  }

  template <class Filter, class Callback>
  UnparkResult unpark_filter(std::uintptr_t key, Filter&& filter, Callback&& callback) noexcept {
    Slot& bucket = lock_bucket(key);
    UnparkResult result;
    Thread* chosen_head = nullptr;
    Thread* chosen_tail = nullptr;
    Thread* prev = nullptr;
    for (Thread* t = bucket.head.load(); t != nullptr;) {
      Thread* next = t->next.load();
      if (!has_key(t, key)) {
        prev = t;
        t = next;
        continue;
      }
      const FilterOp op = filter(t->park_token.load());
      if (op == FilterOp::Unpark) {
        bucket.unlink(prev, t);
        t->next.store(nullptr);
        if (chosen_tail != nullptr) {
          chosen_tail->next.store(t);
        } else {
          chosen_head = t;
        }
        chosen_tail = t;
        ++result.unparked_threads;
      } else {
        result.have_more_threads = true;
        if (op == FilterOp::Stop) break;
        prev = t;
      }
      t = next;
    }
    if (result.unparked_threads != 0) result.be_fair = bucket.should_be_fair(Sync::now());
    const UnparkToken token = callback(result);
    WakeList woken;
    for (Thread* t = chosen_head; t != nullptr;) {
      Thread* next = t->next.load();
      woken.add(t, token);
      t = next;
    }
    bucket.lock.unlock();
    release(woken);
    return result;
  }

 private:
  // Whether the policy reports CPUs and keeps the same-CPU hint (the top of this file).
  static constexpr bool kCpuHints = requires(int cpu) {
    Sync::current_cpu();
    Sync::note_wake(cpu);
  };

  // A released thread's result; it first tells the policy where its unparker ran.
  static ParkResult unparked(Thread& self) noexcept {
    if constexpr (kCpuHints) Sync::note_wake(self.waker_cpu.load());
    return {ParkResult::Kind::Unparked, self.unpark_token.load()};
  }

  // Threads taken off a queue, chained through `next`, to be released after the unlock.
  class WakeList {
   public:
    // Under the bucket lock: hands `thread` its token and marks it as no longer queued.
    void add(Thread* thread, UnparkToken token) noexcept {
      if (thread->on_unpark.load() != nullptr) ++nodes_;
      if constexpr (kCpuHints) {
        if (head_ == nullptr) cpu_ = Sync::current_cpu();
        thread->waker_cpu.store(cpu_);
      }
      thread->unpark_token.store(token);
      thread->queued.store(false);
      thread->next.store(nullptr);
      if (tail_ != nullptr) {
        tail_->next.store(thread);
      } else {
        head_ = thread;
      }
      tail_ = thread;
    }
    // Coroutines' nodes among them (park_async).
    std::size_t nodes() const noexcept { return nodes_; }
    // After the unlock. Reads each thread's `next` (and group) before releasing it: once
    // released, a thread's data may be gone. One thread: its own wake-up. More: each thread's
    // group is woken once (group wake-ups, above), up to kMaxGroups different groups; a thread
    // with no group, or beyond that, gets its own wake-up.
    std::size_t release_all() noexcept {
      if (head_ != nullptr && head_ == tail_) {
        release_one(head_);
        return 1;
      }
      constexpr std::size_t kMaxGroups = 4;
      typename Sync::template Atomic<std::uint32_t>* groups[kMaxGroups];
      std::size_t group_count = 0;
      std::size_t n = 0;
      for (Thread* t = head_; t != nullptr; ++n) {
        Thread* next = t->next.load();
        typename Sync::template Atomic<std::uint32_t>* const g = t->group.load();
        std::size_t i = 0;
        while (i < group_count && groups[i] != g) ++i;
        if (g != nullptr && i == group_count && group_count < kMaxGroups) groups[group_count++] = g;
        if (g != nullptr && i < group_count) {
          t->release_quietly();
        } else {
          release_one(t);
        }
        t = next;
      }
      for (std::size_t i = 0; i < group_count; ++i) {
        // release: pairs with the acquire load of the group word in sleep_until(); orders the
        // stores of 0 above before the bump.
        groups[i]->fetch_add(1, std::memory_order_release);
        Sync::wake_all(groups[i]);
      }
      return n;
    }

   private:
    // A thread gets its wake-up; a coroutine's node its on_unpark (its group is nullptr).
    static void release_one(Thread* t) noexcept {
      if (const typename Thread::OnUnpark on_unpark = t->on_unpark.load()) {
        on_unpark(t);
      } else {
        t->release();
      }
    }

    Thread* head_ = nullptr;
    Thread* tail_ = nullptr;
    std::size_t nodes_ = 0;
    int cpu_ = -1;  // the unparker's CPU, read once per list (kCpuHints)
  };

  // After the unlock: wakes the list, and unregisters the coroutines' nodes it held.
  std::size_t release(WakeList& woken) noexcept {
    const std::size_t nodes = woken.nodes();
    const std::size_t n = woken.release_all();
    // relaxed: a count that only sizes the table, as in register_thread() (no partner).
    if (nodes != 0) num_threads_.fetch_sub(nodes, std::memory_order_relaxed);
    return n;
  }

  // The group word of `key` if the policy offers group wake-ups (Sync::group_word), else nullptr.
  static typename Sync::template Atomic<std::uint32_t>* group_for(std::uintptr_t key) noexcept {
    if constexpr (Thread::kGroupWakeUps) {
      return Sync::group_word(key);
    } else {
      return nullptr;
    }
  }

  // Under the bucket lock: takes `t` (queued on `key` in `bucket`) off the queue, then tells
  // `left(key, was_last)` whether no other thread or node is queued on `key` any more.
  template <class Left>
  static void leave_queue(Slot& bucket, Thread& t, std::uintptr_t key, Left& left) noexcept {
    Thread* prev = nullptr;
    for (Thread* q = bucket.head.load(); q != &t; q = q->next.load()) prev = q;
    bucket.unlink(prev, &t);
    left(reinterpret_cast<const void*>(key), !any_with_key(bucket.head.load(), key));
  }

  static bool has_key(Thread* t, std::uintptr_t key) noexcept {
    // relaxed: keys of queued threads only change under the bucket lock, which the caller holds.
    return t->key.load(std::memory_order_relaxed) == key;
  }
  static bool any_with_key(Thread* from, std::uintptr_t key) noexcept {
    for (Thread* t = from; t != nullptr; t = t->next.load()) {
      if (has_key(t, key)) return true;
    }
    return false;
  }

  std::size_t buckets_for(std::size_t threads) const noexcept {
    std::size_t n = 1;
    while (n < kLoadFactor * threads || n < min_buckets_) n <<= 1;
    return n;
  }

  Table* current_table() const noexcept {
    // acquire: pairs with the release stores in grow() and reset_after_fork(); makes the new
    // table's buckets visible.
    return table_.load(std::memory_order_acquire);
  }

  // Locks the bucket of `key` in the current table. Once we hold a bucket lock of the current
  // table, grow() cannot replace the table (it needs every bucket lock), so the re-check after
  // locking is final. relaxed: grow() stores the new table before unlocking our bucket, and our
  // lock acquired that unlock, so a replaced table is always seen here.
  Slot& lock_bucket(std::uintptr_t key) noexcept {
    for (;;) {
      Table* table = current_table();
      Slot& bucket = table->bucket_for(key);
      bucket.lock.lock();
      if (table_.load(std::memory_order_relaxed) == table) return bucket;
      bucket.lock.unlock();
    }
  }

  // As lock_bucket, for a parked thread whose key unpark_requeue may change meanwhile.
  std::pair<std::uintptr_t, Slot*> lock_bucket_checked(Thread& thread) noexcept {
    for (;;) {
      Table* table = current_table();
      const std::uintptr_t key = thread.key.load(std::memory_order_relaxed);  // re-checked below
      Slot& bucket = table->bucket_for(key);
      bucket.lock.lock();
      if (table_.load(std::memory_order_relaxed) == table &&
          thread.key.load(std::memory_order_relaxed) == key) {
        return {key, &bucket};
      }
      bucket.lock.unlock();
    }
  }

  // Locks both keys' buckets, the lower index first (one lock if they share a bucket).
  std::pair<Slot*, Slot*> lock_bucket_pair(std::uintptr_t a, std::uintptr_t b) noexcept {
    for (;;) {
      Table* table = current_table();
      const std::size_t ia = table->index_of(a);
      const std::size_t ib = table->index_of(b);
      Slot& first = table->buckets[ia < ib ? ia : ib];
      first.lock.lock();
      if (table_.load(std::memory_order_relaxed) != table) {
        first.lock.unlock();
        continue;
      }
      if (ia == ib) return {&first, &first};
      Slot& second = table->buckets[ia < ib ? ib : ia];
      second.lock.lock();  // the table cannot change while we hold `first`
      return ia < ib ? std::pair{&first, &second} : std::pair{&second, &first};
    }
  }

  static void unlock_pair(Slot* a, Slot* b) noexcept {
    a->lock.unlock();
    if (b != a) b->lock.unlock();
  }

  void grow(std::size_t threads) noexcept {
    for (;;) {
      Table* old = current_table();
      const std::size_t wanted = buckets_for(threads);
      if (old->size >= wanted) return;
      // Allocate before taking any bucket lock: an allocator may itself park.
      Table* fresh = new Table(wanted, old);
      for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.lock();
      if (table_.load(std::memory_order_relaxed) != old) {  // another thread grew it first
        for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.unlock();
        delete fresh;
        continue;
      }
      for (std::size_t i = 0; i < old->size; ++i) {
        Slot& from = old->buckets[i];
        for (Thread* t = from.head.load(); t != nullptr;) {
          Thread* next = t->next.load();
          fresh->bucket_for(t->key.load(std::memory_order_relaxed)).append(t);
          t = next;
        }
        from.head.store(nullptr);
        from.tail.store(nullptr);
      }
      // release: pairs with the acquire in current_table().
      table_.store(fresh, std::memory_order_release);
      for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.unlock();
      return;
    }
  }

  typename Sync::template Atomic<Table*> table_{nullptr};
  typename Sync::template Atomic<std::size_t> num_threads_{0};
  const std::size_t min_buckets_;
};

}  // namespace exitleft::parking_lot::detail
