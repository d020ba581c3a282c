// The process-wide parking lot: the protocol of src/lot/lot.hpp on std::atomic and the
// platform's wait-on-address, plus per-thread data and fork handling.
#include "exitleft/parking_lot.hpp"

#include <cstdint>

#include "exitleft/detail/std_sync.hpp"
#include "platform/word_wait.hpp"
#include "src/lot/lot.hpp"

namespace exitleft::parking_lot::detail {
namespace {

// The group words of group wake-ups (src/lot/lot.hpp): a fixed table, never moved or
// freed, one cache line each. Keys are spread over them by the same kind of hash as buckets.
struct alignas(64) GroupWord {
  platform::Word word{0};
};
GroupWord group_words[kGroupWords];

}  // namespace
}  // namespace exitleft::parking_lot::detail

namespace exitleft::detail {

bool StdSync::wait(const Word& word, std::uint32_t expected, SteadyTime deadline) noexcept {
  return platform::wait(word, expected, deadline);
}
void StdSync::wake_one(const Word* word) noexcept {
  platform::wake_one(word);
}
void StdSync::wake_all(const Word* word) noexcept {
  platform::wake_all(word);
}
StdSync::Word* StdSync::group_word(std::uintptr_t key) noexcept {
  if (!platform::has_wait_either()) return nullptr;
  return &parking_lot::detail::group_words[parking_lot::detail::group_index(key)].word;
}
bool StdSync::wait_either(const Word& a, std::uint32_t expected_a, const Word& b,
                          std::uint32_t expected_b, SteadyTime deadline) noexcept {
  return platform::wait_either(a, expected_a, b, expected_b, deadline);
}

namespace {
// Whether this thread's last wake-up from the lot came from a thread on its own CPU.
thread_local bool last_wake_beside_waker = false;
}  // namespace
int StdSync::current_cpu() noexcept {
  return platform::current_cpu();
}
void StdSync::note_wake(int waker_cpu) noexcept {
  last_wake_beside_waker = waker_cpu >= 0 && waker_cpu == platform::current_cpu();
}
bool StdSync::woken_beside_waker() noexcept {
  return last_wake_beside_waker;
}

}  // namespace exitleft::detail

namespace exitleft::parking_lot::detail {
namespace {

using exitleft::detail::StdSync;
static_assert(Lot<StdSync>::Thread::kGroupWakeUps);

using GlobalLot = Lot<StdSync>;
using Thread = ThreadData<StdSync>;

constexpr std::size_t kInitialBuckets = 64;

GlobalLot* make_lot() noexcept {
  return new GlobalLot(kInitialBuckets);
}
void lot_after_fork() noexcept;
using TheLot = platform::ProcessWide<GlobalLot, make_lot, lot_after_fork>;
GlobalLot& lot() noexcept {
  return TheLot::get();
}
void lot_after_fork() noexcept {
  lot().reset_after_fork();
}
[[maybe_unused]] GlobalLot& eager_lot = lot();  // before main(): see platform/fork.hpp

// Per-thread data. `state` is trivially destructible, so it stays readable while the thread's
// other thread_local objects are destroyed; a thread that parks after its ThreadSlot died (from
// another thread_local's destructor) parks with a ThreadData on its stack instead.
enum class SlotState : unsigned char { Unborn, Live, Dead };
thread_local SlotState state = SlotState::Unborn;

struct ThreadSlot {
  ThreadSlot() noexcept { lot().register_thread(); }
  ~ThreadSlot() {
    lot().unregister_thread();
    state = SlotState::Dead;
  }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;
  Thread data;
};

template <class F>
decltype(auto) with_thread_data(F&& f) noexcept {
  if (state != SlotState::Dead) [[likely]] {
    thread_local ThreadSlot slot;
    state = SlotState::Live;
    return f(slot.data);
  }
  ThreadSlot temporary;
  return f(temporary.data);
}

std::uintptr_t key_of(const void* key) noexcept {
  return reinterpret_cast<std::uintptr_t>(key);
}

}  // namespace

ParkResult park(const void* key, FunctionRef<bool()> validate, FunctionRef<void()> before_sleep,
                FunctionRef<void(const void*, bool)> timed_out, ParkToken token,
                Deadline deadline) noexcept {
  return with_thread_data([&](Thread& self) {
    return lot().park(self, key_of(key), validate, before_sleep, timed_out, token, deadline);
  });
}

UnparkResult unpark_one(const void* key, FunctionRef<UnparkToken(UnparkResult)> callback) noexcept {
  return lot().unpark_one(key_of(key), callback);
}

UnparkResult unpark_requeue(const void* from, const void* to, FunctionRef<RequeueOp()> validate,
                            FunctionRef<UnparkToken(RequeueOp, UnparkResult)> callback) noexcept {
  return lot().unpark_requeue(key_of(from), key_of(to), validate, callback);
}

UnparkResult unpark_filter(const void* key, FunctionRef<FilterOp(ParkToken)> filter,
                           FunctionRef<UnparkToken(UnparkResult)> callback) noexcept {
  return lot().unpark_filter(key_of(key), filter, callback);
}

std::size_t bucket_count() noexcept {
  return lot().bucket_count();
}
std::size_t registered_threads() noexcept {
  return lot().registered_threads();
}

}  // namespace exitleft::parking_lot::detail

namespace exitleft::parking_lot {

std::size_t unpark_all(const void* key, UnparkToken token) noexcept {
  return detail::lot().unpark_all(detail::key_of(key), token);
}

}  // namespace exitleft::parking_lot

namespace exitleft::detail {

bool StdSync::park_async(LotNode& node, const void* key, FunctionRef<bool()> validate,
                         parking_lot::ParkToken token) noexcept {
  return parking_lot::detail::lot().park_async(node, parking_lot::detail::key_of(key), validate,
                                               token);
}
bool StdSync::cancel_async(LotNode& node, const void* key,
                           FunctionRef<void(const void*, bool)> removed) noexcept {
  return parking_lot::detail::lot().cancel_async(node, parking_lot::detail::key_of(key), removed);
}

}  // namespace exitleft::detail
