// The process-wide multi-object wait engine, and wait_any / wait_all's checks of their
// arguments.
#include <stdexcept>

#include "exitleft/wait.hpp"
#include "platform/word_wait.hpp"
#include "src/multi_wait/engine_impl.hpp"

namespace exitleft::detail {

template class MultiWaitEngine<StdSync>;

namespace {
MultiWaitEngine<StdSync>* make_engine() noexcept {
  return new MultiWaitEngine<StdSync>();
}
void engine_after_fork() noexcept {
  multi_engine<StdSync>().reset_after_fork();
}
using TheEngine = platform::ProcessWide<MultiWaitEngine<StdSync>, make_engine, engine_after_fork>;
}  // namespace

template <>
MultiWaitEngine<StdSync>& multi_engine<StdSync>() noexcept {
  return TheEngine::get();
}

namespace {
[[maybe_unused]] MultiWaitEngine<StdSync>& eager_engine = TheEngine::get();  // platform/fork.hpp
}  // namespace

namespace {

// Copies the targets into `out` after checking the rules of docs/guarantees.md, "Multi-object
// waits".
std::span<const WaitTarget<StdSync>> checked(std::span<const WaitableRef> objects, bool all,
                                             WaitTarget<StdSync> (&out)[kMaxWaitObjects]) {
  if (objects.empty()) throw std::invalid_argument("exitleft::wait: no objects to wait for");
  if (objects.size() > kMaxWaitObjects) {
    throw std::invalid_argument("exitleft::wait: more than 64 objects");
  }
  for (std::size_t i = 0; i < objects.size(); ++i) {
    out[i] = objects[i].target();
    if (!all) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (out[j].key == out[i].key) {
        throw std::invalid_argument("exitleft::wait_all: the same object appears twice");
      }
    }
  }
  return {out, objects.size()};
}

}  // namespace

std::optional<std::size_t> wait_any_until_steady(std::span<const WaitableRef> objects,
                                                 SteadyTime deadline) {
  WaitTarget<StdSync> targets[kMaxWaitObjects];
  return multi_engine<StdSync>().wait(checked(objects, false, targets), false, deadline);
}

bool wait_all_until_steady(std::span<const WaitableRef> objects, SteadyTime deadline) {
  WaitTarget<StdSync> targets[kMaxWaitObjects];
  return multi_engine<StdSync>().wait(checked(objects, true, targets), true, deadline).has_value();
}

}  // namespace exitleft::detail
