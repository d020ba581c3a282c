/// @file
/// exitleft::SpinWait — bounded exponential back-off for spin-then-park loops.
///
/// spin() first runs rounds of 2, 4, 8 and 16 CPU pause instructions, then six rounds that yield
/// the thread, and then returns false: time to park. On a machine with a single CPU it returns
/// false at once, since the thread being waited for cannot make progress while we spin.
///
/// @code
///   exitleft::SpinWait spin;
///   while (!ready.load(std::memory_order_acquire)) {
///     if (!spin.spin()) { park(); spin.reset(); }
///   }
/// @endcode
#pragma once

#include "exitleft/detail/basic_spin_wait.hpp"
#include "exitleft/detail/std_sync.hpp"

namespace exitleft {

/// Bounded exponential back-off for spin-then-park loops (see the file comment).
using SpinWait = detail::BasicSpinWait<detail::StdSync>;

}  // namespace exitleft
