// exitleft::EventState — the initial state of an AutoResetEvent or ManualResetEvent.
#pragma once

#include <cstdint>

namespace exitleft {

enum class EventState : std::uint8_t { Unset, Set };

}  // namespace exitleft
