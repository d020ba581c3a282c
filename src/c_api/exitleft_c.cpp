// The C API (include/exitleft/exitleft.h): thin wrappers over the C++ classes.
//
// Each handle is a struct whose first member is a Tag naming its kind, so that a multi-wait can
// tell the three kinds apart from a `const void*` and refuse anything else with EINVAL. The
// structs are standard-layout, so a pointer to one is a pointer to its first member.
//
// Nothing here may throw into C: the C++ calls that can throw (decrement at 0, counts out of
// range, the multi-wait's argument checks and its first allocation) are either ruled out by a
// check before the call or caught at this boundary.
#include "exitleft/exitleft.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "exitleft/semaphore.hpp"
#include "exitleft/wait.hpp"
#include "platform/word_wait.hpp"

#ifndef EXITLEFT_VERSION_STRING
#error "the build defines EXITLEFT_VERSION_STRING (CMakeLists.txt: the project's version)"
#endif

namespace {

// Four ASCII letters each, so that a tag is recognisable in a debugger's memory view.
enum class Tag : std::uint32_t {
  kAutoEvent = 0x41455654,    // "AEVT"
  kManualEvent = 0x4d455654,  // "MEVT"
  kSemaphore = 0x53454d41,    // "SEMA"
  kCountdown = 0x434e5444,    // "CNTD"
};

}  // namespace

struct exitleft_event {
  const Tag tag;
  // One of the two, as `tag` says (the other is never used; both are a single byte).
  exitleft::AutoResetEvent auto_reset;
  exitleft::ManualResetEvent manual_reset;

  exitleft_event(bool manual, bool set) noexcept
      : tag(manual ? Tag::kManualEvent : Tag::kAutoEvent),
        auto_reset(set && !manual ? exitleft::EventState::Set : exitleft::EventState::Unset),
        manual_reset(set && manual ? exitleft::EventState::Set : exitleft::EventState::Unset) {}
  bool manual() const noexcept { return tag == Tag::kManualEvent; }
};

struct exitleft_semaphore {
  const Tag tag = Tag::kSemaphore;
  exitleft::Semaphore semaphore;

  exitleft_semaphore(std::uint32_t initial, std::uint32_t max) : semaphore(initial, max) {}
};

struct exitleft_countdown {
  const Tag tag = Tag::kCountdown;
  exitleft::CountdownEvent countdown;

  explicit exitleft_countdown(std::size_t initial) : countdown(initial) {}
};

namespace {

// A finite C timeout (not EXITLEFT_INFINITE) as a duration: any negative value polls, as 0 does.
std::chrono::nanoseconds finite_timeout(std::int64_t timeout_ns) noexcept {
  return std::chrono::nanoseconds(timeout_ns < 0 ? 0 : timeout_ns);
}

// The C++ waits' two forms of a C timeout: forever, or a duration (0 or negative: a poll).
// `wait_for(d)` takes what the object needs, e.g. [&](auto d) { return e.wait_for(d); }.
template <class Forever, class For>
int timed(std::int64_t timeout_ns, Forever forever, For wait_for) noexcept {
  if (timeout_ns == EXITLEFT_INFINITE) {
    forever();
    return EXITLEFT_OK;
  }
  return wait_for(finite_timeout(timeout_ns)) ? EXITLEFT_OK : EXITLEFT_TIMEOUT;
}

[[noreturn]] void precondition_violated(const char* what) noexcept {
  std::fprintf(stderr, "exitleft: precondition violated: %s\n", what);
  std::abort();
}

std::size_t checked_count(std::size_t count, const char* what) noexcept {
  if (static_cast<std::uint64_t>(count) > exitleft::CountdownEvent::kMaxCount) {
    precondition_violated(what);
  }
  return count;
}

// The multi-wait's view of one handle, or false if `object` is not one.
bool to_ref(const void* object, exitleft::WaitableRef* out) noexcept {
  if (object == nullptr) return false;
  // The kind is in the first four bytes of every handle (the structs above); the C caller
  // passes a non-const handle array as `const void* const[]` and the wait may consume.
  void* p = const_cast<void*>(object);
  switch (*static_cast<const Tag*>(object)) {
    case Tag::kAutoEvent:
      ::new (out) exitleft::WaitableRef(static_cast<exitleft_event*>(p)->auto_reset);
      return true;
    case Tag::kManualEvent:
      ::new (out) exitleft::WaitableRef(static_cast<exitleft_event*>(p)->manual_reset);
      return true;
    case Tag::kSemaphore:
      ::new (out) exitleft::WaitableRef(static_cast<exitleft_semaphore*>(p)->semaphore);
      return true;
    case Tag::kCountdown:
      ::new (out) exitleft::WaitableRef(static_cast<exitleft_countdown*>(p)->countdown);
      return true;
  }
  return false;
}

// Validates `objects` and runs `wait(span, deadline)`, mapping the C++ errors to C results.
template <class Wait>
int multi_wait(const void* const objects[], std::size_t n, std::int64_t timeout_ns,
               Wait wait) noexcept {
  if (objects == nullptr || n == 0 || n > exitleft::kMaxWaitObjects) return EXITLEFT_EINVAL;
  // WaitableRef has no default state: the references are built in raw storage. They are
  // trivially destructible (a pointer and a few words), so nothing needs destroying.
  static_assert(std::is_trivially_destructible_v<exitleft::WaitableRef>);
  alignas(exitleft::WaitableRef) unsigned char
      storage[exitleft::kMaxWaitObjects * sizeof(exitleft::WaitableRef)];
  auto* refs = reinterpret_cast<exitleft::WaitableRef*>(storage);
  for (std::size_t i = 0; i < n; ++i) {
    if (!to_ref(objects[i], refs + i)) return EXITLEFT_EINVAL;
  }
  const std::span<const exitleft::WaitableRef> span(refs, n);
  const exitleft::detail::SteadyTime deadline =
      timeout_ns == EXITLEFT_INFINITE
          ? exitleft::detail::kNoDeadline
          : exitleft::detail::deadline_after(finite_timeout(timeout_ns));
  try {
    return wait(span, deadline);
  } catch (const std::invalid_argument&) {  // the same object twice in a wait-all
    return EXITLEFT_EINVAL;
  } catch (const std::bad_alloc&) {  // the engine is allocated by the first multi-wait
    return EXITLEFT_ENOMEM;
  }
}

}  // namespace

extern "C" {

exitleft_event* exitleft_event_create(bool manual_reset, bool initially_set) {
  return new (std::nothrow) exitleft_event(manual_reset, initially_set);
}
void exitleft_event_destroy(exitleft_event* event) {
  delete event;
}
void exitleft_event_set(exitleft_event* event) {
  if (event->manual()) {
    event->manual_reset.set();
  } else {
    event->auto_reset.set();
  }
}
void exitleft_event_reset(exitleft_event* event) {
  if (event->manual()) {
    event->manual_reset.reset();
  } else {
    event->auto_reset.reset();
  }
}
void exitleft_event_pulse(exitleft_event* event) {
  if (event->manual()) {
    event->manual_reset.pulse();
  } else {
    event->auto_reset.pulse();
  }
}
int exitleft_event_wait(exitleft_event* event, int64_t timeout_ns) {
  if (event->manual()) {
    auto& e = event->manual_reset;
    return timed(
        timeout_ns, [&] { e.wait(); }, [&](auto d) { return e.wait_for(d); });
  }
  auto& e = event->auto_reset;
  return timed(
      timeout_ns, [&] { e.wait(); }, [&](auto d) { return e.wait_for(d); });
}
bool exitleft_event_is_set(const exitleft_event* event) {
  return event->manual() ? event->manual_reset.is_set() : event->auto_reset.is_set();
}

exitleft_semaphore* exitleft_semaphore_create(uint32_t initial, uint32_t max) {
  if (initial > max) return nullptr;  // the constructor would throw
  return new (std::nothrow) exitleft_semaphore(initial, max);
}
void exitleft_semaphore_destroy(exitleft_semaphore* semaphore) {
  delete semaphore;
}
int exitleft_semaphore_release(exitleft_semaphore* semaphore, uint32_t n) {
  return semaphore->semaphore.release(n) ? EXITLEFT_OK : EXITLEFT_EOVERFLOW;
}
int exitleft_semaphore_acquire(exitleft_semaphore* semaphore, int64_t timeout_ns) {
  auto& s = semaphore->semaphore;
  return timed(
      timeout_ns, [&] { s.acquire(); }, [&](auto d) { return s.try_acquire_for(d); });
}
uint32_t exitleft_semaphore_count(const exitleft_semaphore* semaphore) {
  return semaphore->semaphore.count();
}

exitleft_countdown* exitleft_countdown_create(size_t initial) {
  if (static_cast<std::uint64_t>(initial) > exitleft::CountdownEvent::kMaxCount) return nullptr;
  return new (std::nothrow) exitleft_countdown(initial);
}
void exitleft_countdown_destroy(exitleft_countdown* countdown) {
  delete countdown;
}
int exitleft_countdown_decrement(exitleft_countdown* countdown) {
  try {
    return countdown->countdown.decrement() ? 1 : 0;
  } catch (const std::logic_error&) {  // already 0; nothing changed
    return EXITLEFT_EINVAL;
  }
}
void exitleft_countdown_increment(exitleft_countdown* countdown, size_t n) {
  try {
    countdown->countdown.increment(n);
  } catch (const std::overflow_error&) {
    precondition_violated("exitleft_countdown_increment: the count would pass 2^62 - 1");
  }
}
void exitleft_countdown_reset(exitleft_countdown* countdown, size_t count) {
  countdown->countdown.reset(
      checked_count(count, "exitleft_countdown_reset: the count is above 2^62 - 1"));
}
int exitleft_countdown_wait(exitleft_countdown* countdown, int64_t timeout_ns) {
  auto& c = countdown->countdown;
  return timed(
      timeout_ns, [&] { c.wait(); }, [&](auto d) { return c.wait_for(d); });
}
size_t exitleft_countdown_count(const exitleft_countdown* countdown) {
  return countdown->countdown.count();
}

int exitleft_wait_any(const void* const objects[], size_t n, int64_t timeout_ns, size_t* index) {
  return multi_wait(objects, n, timeout_ns, [index](auto span, auto deadline) {
    const std::optional<std::size_t> got = exitleft::detail::wait_any_until_steady(span, deadline);
    if (!got) return EXITLEFT_TIMEOUT;
    if (index != nullptr) *index = *got;
    return EXITLEFT_OK;
  });
}
int exitleft_wait_all(const void* const objects[], size_t n, int64_t timeout_ns) {
  return multi_wait(objects, n, timeout_ns, [](auto span, auto deadline) {
    return exitleft::detail::wait_all_until_steady(span, deadline) ? EXITLEFT_OK : EXITLEFT_TIMEOUT;
  });
}

const char* exitleft_version(void) {
  return EXITLEFT_VERSION_STRING;
}
const char* exitleft_backend(void) {
  return exitleft::platform::backend_name();
}

}  // extern "C"
