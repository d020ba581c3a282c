// What a primitive's private async_step() returns: one step of a coroutine's wait on it
// (src/async/async_node.hpp, src/primitives/signal_wait.hpp).
#pragma once

#include <cstdint>

namespace exitleft::detail {

enum class AsyncStep : std::uint8_t {
  kSignalled,  // the wait has its signal (taken, observed or handed over)
  kCancelled,  // stop was requested first; nothing was taken
  kQueued,     // the node is queued in the lot; an unparker or a cancel completes it later
};

// A coroutine's node in the lot (src/async/async_node.hpp).
template <class Sync>
struct AsyncWaitNode;

}  // namespace exitleft::detail
