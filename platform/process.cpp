// OS facts that are not wait-on-address: fork handlers and the selected backend's name.
#include "platform/wait_on_address.hpp"

#if defined(_WIN32)
// Windows has no fork().
#else
#include <pthread.h>
#endif

namespace exitleft::platform {

const char* backend_name() noexcept {
#if defined(EXITLEFT_BACKEND_LINUX)
  return "linux";
#elif defined(EXITLEFT_BACKEND_WINDOWS)
  return "windows";
#elif defined(EXITLEFT_BACKEND_DARWIN)
  return "darwin";
#else
  return "portable";
#endif
}

bool register_fork_handlers(void (*prepare)(), void (*parent)(), void (*child)()) noexcept {
#if defined(_WIN32)
  (void)prepare, (void)parent, (void)child;
  return false;
#else
  return pthread_atfork(prepare, parent, child) == 0;
#endif
}

}  // namespace exitleft::platform
