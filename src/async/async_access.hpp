// The primitives' private async members (async_step, async_cancel), for the library's async waits
// (src/async/async_wait.cpp) and the models (tests/model/async_model.cpp). A friend of each.
#pragma once

#include "exitleft/countdown_event.hpp"
#include "exitleft/raw_event.hpp"
#include "exitleft/semaphore.hpp"
#include "src/async/async_node.hpp"

namespace exitleft::detail {

struct AsyncAccess {
  // RawEvent: Consume = wait_one (auto-reset), else wait_all (manual-reset).
  template <bool Consume, class Sync, bool Spin>
  static AsyncStep step(BasicRawEvent<Sync, Spin>& e, AsyncWaitNode<Sync>& node,
                        bool woken) noexcept {
    return e.template async_step<Consume>(node, woken);
  }
  template <bool Consume, class Sync, bool Spin>
  static bool cancel(BasicRawEvent<Sync, Spin>& e, AsyncWaitNode<Sync>& node) noexcept {
    return e.template async_cancel<Consume>(node);
  }
  // Semaphore and CountdownEvent: one kind of wait each.
  template <class Object, class Sync>
  static AsyncStep step(Object& object, AsyncWaitNode<Sync>& node, bool woken) noexcept {
    return object.async_step(node, woken);
  }
  template <class Object, class Sync>
  static bool cancel(Object& object, AsyncWaitNode<Sync>& node) noexcept {
    return object.async_cancel(node);
  }
};

}  // namespace exitleft::detail
