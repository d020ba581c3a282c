// A non-owning reference to a callable: two words, no allocation. The parking lot's exported
// functions take their callbacks this way; the callables live on the caller's stack for the
// whole call and are never stored.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace exitleft::detail {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>) FunctionRef(F&& f)
  noexcept  // NOLINT(google-explicit-constructor): a reference type
      : call_(&invoke<std::remove_reference_t<F>>) {
    if constexpr (std::is_function_v<std::remove_reference_t<F>>) {
      object_ = reinterpret_cast<void*>(&f);
    } else {
      object_ = const_cast<void*>(static_cast<const void*>(std::addressof(f)));
    }
  }

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  template <class F>
  static R invoke(void* object, Args... args) {
    if constexpr (std::is_function_v<F>) {
      return std::invoke(reinterpret_cast<F*>(object), std::forward<Args>(args)...);
    } else {
      return std::invoke(*static_cast<F*>(object), std::forward<Args>(args)...);
    }
  }

  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace exitleft::detail
