/// @file
/// exitleft::EventState — the initial state of an AutoResetEvent or ManualResetEvent.
#pragma once

#include <cstdint>

namespace exitleft {

/// The initial state of an event.
enum class EventState : std::uint8_t {
  Unset,  ///< not signalled
  Set,    ///< signalled
};

}  // namespace exitleft
