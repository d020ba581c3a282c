/// @file
/// exitleft::Exit — how a Stage::enter() ended (include/exitleft/stage.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

namespace exitleft {

/// How an enter() ended. R is what the head function returned (void: no value()).
template <class R>
class Exit {
 public:
  /// The three ways out of enter().
  enum Kind : std::uint8_t {
    Finished,  ///< this thread headed; value() holds what the head returned
    Notified,  ///< the ticket was notified
    TimedOut,  ///< the deadline passed first
  };

  /// This thread headed and the head returned `value`.
  static Exit finished(R value) { return Exit(Finished, std::move(value)); }
  /// The ticket was notified.
  static Exit notified() { return Exit(Notified); }
  /// The deadline passed.
  static Exit timed_out() { return Exit(TimedOut); }

  /// How enter() ended.
  Kind kind() const noexcept { return kind_; }
  /// What the head returned. @throws std::logic_error unless kind() == Finished.
  R& value() & { return checked(); }
  /// What the head returned. @throws std::logic_error unless kind() == Finished.
  const R& value() const& { return checked(); }
  /// What the head returned. @throws std::logic_error unless kind() == Finished.
  R&& value() && { return std::move(checked()); }

 private:
  explicit Exit(Kind kind) : kind_(kind) {}
  Exit(Kind kind, R value) : kind_(kind), value_(std::move(value)) {}
  R& checked() const {
    if (!value_) throw std::logic_error("exitleft::Exit::value: this enter() did not head");
    return const_cast<R&>(*value_);
  }

  Kind kind_;
  std::optional<R> value_;
};

/// How an enter() ended whose head function returns void.
template <>
class Exit<void> {
 public:
  /// The three ways out of enter().
  enum Kind : std::uint8_t {
    Finished,  ///< this thread headed
    Notified,  ///< the ticket was notified
    TimedOut,  ///< the deadline passed first
  };

  /// This thread headed.
  static Exit finished() { return Exit(Finished); }
  /// The ticket was notified.
  static Exit notified() { return Exit(Notified); }
  /// The deadline passed.
  static Exit timed_out() { return Exit(TimedOut); }

  /// How enter() ended.
  Kind kind() const noexcept { return kind_; }

 private:
  explicit Exit(Kind kind) : kind_(kind) {}
  Kind kind_;
};

}  // namespace exitleft
