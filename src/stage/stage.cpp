// The library's instantiation of Stage's token-independent part: the hand-off state machine
// (slow paths in stage_core_impl.hpp next to this file).
#include "src/stage/stage_core_impl.hpp"

namespace exitleft::detail {

template class BasicStageCore<StdSync, true>;

}  // namespace exitleft::detail
