// fork handlers: pthread_atfork where the OS has fork().
#include "platform/fork.hpp"

#if !defined(_WIN32)
#include <pthread.h>
#endif

namespace exitleft::platform {

bool register_fork_handlers(void (*prepare)(), void (*parent)(), void (*child)()) noexcept {
#if defined(_WIN32)
  (void)prepare, (void)parent, (void)child;  // Windows has no fork()
  return false;
#else
  return pthread_atfork(prepare, parent, child) == 0;
#endif
}

}  // namespace exitleft::platform
