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
  template <class Sync, bool Spin>
  static AsyncStep step(BasicSemaphore<Sync, Spin>& s, AsyncWaitNode<Sync>& node,
                        bool woken) noexcept {
    return s.async_step(node, woken);
  }
  template <class Sync, bool Spin>
  static bool cancel(BasicSemaphore<Sync, Spin>& s, AsyncWaitNode<Sync>& node) noexcept {
    return s.async_cancel(node);
  }
  template <class Sync, bool Spin>
  static AsyncStep step(BasicCountdownEvent<Sync, Spin>& c, AsyncWaitNode<Sync>& node,
                        bool woken) noexcept {
    return c.async_step(node, woken);
  }
  template <class Sync, bool Spin>
  static bool cancel(BasicCountdownEvent<Sync, Spin>& c, AsyncWaitNode<Sync>& node) noexcept {
    return c.async_cancel(node);
  }
};

}  // namespace exitleft::detail
