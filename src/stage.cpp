// The library's instantiations of Stage's token-independent parts: the hand-off state machine
// and the lot-based mutex (slow paths in the *_impl.hpp headers next to this file).
#include "src/lot_mutex_impl.hpp"
#include "src/stage_core_impl.hpp"

namespace exitleft::detail {

template class BasicLotMutex<StdSync>;
template class BasicStageCore<StdSync, true>;

}  // namespace exitleft::detail
