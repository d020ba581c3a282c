// fork() and the library's process-wide state (the lot, the multi-wait engine, the portable
// backend's buckets).
#pragma once

namespace exitleft::platform {

// Registers handlers run around fork() (pthread_atfork on POSIX systems; nothing on Windows,
// which has no fork). Returns false where the OS has no fork.
bool register_fork_handlers(void (*prepare)(), void (*parent)(), void (*child)()) noexcept;

// A process-wide object: made by Make() on first use, never destroyed (threads may wait while
// static destructors run at exit), and repaired by AfterFork() in the child after a fork() (the
// parent's other threads, and whatever they held, are gone there). Its owner also builds it
// before main() with a namespace-scope `[[maybe_unused]] T& eager = ProcessWide<...>::get();`,
// so that a fork() can never find it half constructed: the function-local static's guard would
// stay "in progress" in the child, forever.
template <class T, T* (*Make)() noexcept, void (*AfterFork)() noexcept>
struct ProcessWide {
  static T& get() noexcept {
    static T* const object = [] {
      T* made = Make();
      register_fork_handlers(nullptr, nullptr, AfterFork);
      return made;
    }();
    return *object;
  }
};

}  // namespace exitleft::platform
