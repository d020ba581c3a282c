// Unpark tokens the primitives hand to the threads they wake (parking_lot::UnparkToken).
#pragma once

#include "exitleft/parking_lot.hpp"

namespace exitleft::detail {

// The woken thread receives the signal itself (an auto-reset set, a pulse, a semaphore unit):
// it returns true and must not consume anything else.
inline constexpr parking_lot::UnparkToken kTokenHandOff = 1;
// The woken thread observed a broadcast (a manual-reset set or pulse, a countdown reaching zero):
// it returns true.
inline constexpr parking_lot::UnparkToken kTokenBroadcast = 2;
// The woken thread only looks again: what it waits for was made available to every thread (a
// barging Semaphore::release), and another may take it first.
inline constexpr parking_lot::UnparkToken kTokenRetry = 3;

}  // namespace exitleft::detail
