// The library's instantiations of the primitives' state machines (the slow paths live in the
// *_impl.hpp headers next to this file; the fast paths are inline in the public headers).
#include "src/primitives/countdown_event_impl.hpp"
#include "src/primitives/raw_event_impl.hpp"
#include "src/primitives/semaphore_impl.hpp"

namespace exitleft::detail {

template class BasicRawEvent<StdSync, true>;
template class BasicRawEvent<StdSync, false>;
template class BasicSemaphore<StdSync, true>;
template class BasicSemaphore<StdSync, false>;
template class BasicCountdownEvent<StdSync, true>;

}  // namespace exitleft::detail
