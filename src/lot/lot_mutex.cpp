// The library's instantiation of the lot-based mutex that Stage, the multi-wait engine and the
// shared events' process-local parts use (slow paths in lot_mutex_impl.hpp next to this file).
#include "src/lot/lot_mutex_impl.hpp"

namespace exitleft::detail {

template class BasicLotMutex<StdSync>;

}  // namespace exitleft::detail
