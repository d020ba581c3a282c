/// @file
/// exitleft::Stage — many threads share one resource that only one thread may block on.
///
/// The seed's case: one unconnected UDP socket, read by many threads, each waiting for the
/// datagrams of its own peer. Each thread registers its token (the peer's address) and gets a
/// Ticket. A thread that wants its data looks in the shared buffer and, if it is not there, calls
/// enter(). If nobody "heads" the stage, it becomes the head: its head function reads the
/// resource, stores other tokens' data in the buffer (or hands it over) and notify()s their
/// tickets, and returns once it has its own. When it returns, the earliest waiting thread is
/// promoted to head. The other threads inside enter() sleep until they are notified or promoted.
///
/// @code
///   exitleft::Stage<Peer, Socket, Mailboxes> stage(std::move(socket));
///   auto ticket = *stage.ticket(my_peer);          // register before you look
///   for (;;) {
///     if (auto d = stage.buffer([&](Mailboxes& m) { return m.take(my_peer); })) return *d;
///     auto exit = stage.enter(ticket, [&](auto& director) {
///       for (;;) {
///         Datagram d = director.resource().receive();
///         if (d.from == my_peer) return d;        // our own: stop heading
///         director.buffer([&](Mailboxes& m) { m.put(d); });
///         director.notify(d.from);                // wake its owner (false: nobody waits for it)
///       }
///     });
///     if (exit.kind() == decltype(exit)::Finished) return exit.value();
///   }                                             // Notified: look in the buffer again
/// @endcode
///
/// What it guarantees (docs/guarantees.md, S1-S8):
/// - S1 At most one thread runs a head at a time; only the head gets a Director, the only way to
///   reach resource(). Everything one head did happens before the next head starts.
/// - S2 A notify that arrives while the ticket is not inside enter() is kept: the next enter()
///   returns Notified at once. Notifications are a flag: several before one enter() give one
///   Notified. A head may notify its own token; that is kept for its next enter().
/// - S3 With no head active, enter() makes the caller head at once (after S2), even with a zero
///   timeout.
/// - S4 When a head returns or throws, the earliest waiting thread (FIFO) is promoted. A
///   promoted waiter that is notified or whose deadline passes at the same moment passes the
///   role on to the next waiter; no waiting thread is ever left without a head.
/// - S5 An exception thrown by the head leaves enter() after the role has passed on.
/// - S6 Tickets are unregistered by identity, and a notification is set on a ticket only while it
///   is registered: a notify aimed at a destroyed ticket never reaches a later ticket for an
///   equal token, and a destroyed ticket never unregisters a later one.
/// - S7 notify() and enter() allocate nothing. Each ticket's owner parks on the ticket's own
///   address in the parking lot; the hand-off is a state machine over atomics with a FIFO queue
///   under a small lot-based lock; the token table is 16 shards behind lot-based locks held only
///   for insert / lookup / erase. No std::mutex, no condition variable. A notify to a ticket that
///   is already notified costs its table lookup and one atomic, no system call. Waiters spin
///   briefly before they park.
/// - S8 Destroying a Stage with live tickets or threads inside enter() is a precondition
///   violation, caught by an assertion in debug builds.
/// Timeouts follow docs/guarantees.md, "Time". Ticket, Director and the Stage are neither copyable;
/// a Ticket is movable (not while its owner is inside enter()).
///
/// Memory ordering: everything one head did happens before the next head starts (S1); everything
/// a thread did before notify(token) happens before the return of the owner's enter() that
/// reports it as Notified; buffer() calls exclude each other and each sees what the previous one
/// did.
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "exitleft/detail/deadline.hpp"
#include "exitleft/detail/lot/lot_mutex.hpp"
#include "exitleft/detail/stage/stage_core.hpp"
#include "exitleft/detail/stage/token_table.hpp"
#include "exitleft/stage_exit.hpp"

namespace exitleft {

/// Many threads share one resource that only one thread may block on (see the file comment).
/// @tparam Token    what identifies a waiting thread's data (e.g. a peer address)
/// @tparam Resource the shared resource (e.g. a socket); only the head reaches it
/// @tparam Buffer   where the head leaves other tokens' data, guarded by the stage's lock
template <class Token, class Resource, class Buffer = std::monostate, class Hash = std::hash<Token>,
          class KeyEqual = std::equal_to<Token>>
class Stage {
  using Core = detail::BasicStageCore<detail::StdSync>;

  struct Seat : Core::Seat {
    Seat(Token t, std::size_t h) : token(std::move(t)), hash(h) {}
    const Token token;
    const std::size_t hash;
    Seat* chain = nullptr;  // the token table's bucket chain, guarded by its shard lock
  };

 public:
  class Director;

  /// One registered token. Move-only; destroying it unregisters the token.
  class Ticket {
   public:
    /// Takes over `other`'s registration (not while its owner is inside enter()).
    Ticket(Ticket&& other) noexcept
        : stage_(std::exchange(other.stage_, nullptr)),
          seat_(std::exchange(other.seat_, nullptr)) {}
    /// Unregisters this ticket's token, then takes over `other`'s registration.
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        release();
        stage_ = std::exchange(other.stage_, nullptr);
        seat_ = std::exchange(other.seat_, nullptr);
      }
      return *this;
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

    /// The registered token.
    const Token& token() const noexcept { return seat_->token; }

   private:
    friend class Stage;
    Ticket(Stage* stage, Seat* seat) noexcept : stage_(stage), seat_(seat) {}
    void release() noexcept {
      if (seat_ != nullptr) stage_->unregister(seat_);
      seat_ = nullptr;
      stage_ = nullptr;
    }

    Stage* stage_;
    Seat* seat_;
  };

  /// What the head gets: the resource, the buffer and notify.
  class Director {
   public:
    Director(const Director&) = delete;
    Director& operator=(const Director&) = delete;

    /// The shared resource: only the head may use it.
    Resource& resource() noexcept { return stage_.resource_; }
    /// Stage::notify().
    bool notify(const Token& token) { return stage_.notify(token); }
    /// Stage::buffer().
    template <class F>
    decltype(auto) buffer(F&& f) {
      return stage_.buffer(std::forward<F>(f));
    }
    /// The head's own token.
    const Token& token() const noexcept { return seat_.token; }

   private:
    friend class Stage;
    Director(Stage& stage, const Seat& seat) noexcept : stage_(stage), seat_(seat) {}
    Stage& stage_;
    const Seat& seat_;
  };

  /// A stage over `resource`, with an initial buffer.
  explicit Stage(Resource resource, Buffer buffer = {})
      : resource_(std::move(resource)), buffer_(std::move(buffer)) {}
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  ~Stage() {
    // S8: tickets point at this stage, and threads inside enter() are using it.
    assert(live_tickets_.load(std::memory_order_relaxed) == 0 &&
           "exitleft::Stage destroyed while tickets are alive");
    assert(inside_.load(std::memory_order_relaxed) == 0 &&
           "exitleft::Stage destroyed while threads are inside enter()");
  }

  /// Registers `token`. Register before you look in the buffer, or a notification sent in
  /// between is lost. @return nullopt while a live ticket holds an equal token.
  std::optional<Ticket> ticket(Token token) {
    const std::size_t h = Hash{}(token);
    Seat* seat = table_.insert(std::make_unique<Seat>(std::move(token), h));
    if (seat == nullptr) return std::nullopt;
    live_tickets_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count for S8
    return Ticket(this, seat);
  }

  /// Runs f(Buffer&) under the stage's buffer lock (a lot-based lock) and returns its result.
  template <class F>
  decltype(auto) buffer(F&& f) {
    detail::LotGuard<detail::LotMutex> guard(buffer_lock_);
    return std::invoke(std::forward<F>(f), buffer_);
  }

  /// Notifies the live ticket holding `token` (kept as a flag if its owner is not waiting).
  /// Any thread may call it. @return false if no live ticket holds `token`.
  bool notify(const Token& token) {
    const Seat* to_wake = nullptr;
    const bool found = table_.with(token, Hash{}(token), [&to_wake](Seat* seat) {
      if (seat == nullptr) return false;
      // Under the shard lock the seat is registered: the flag cannot reach a later ticket (S6).
      if (Core::notify(*seat)) to_wake = seat;
      return true;
    });
    if (to_wake != nullptr) Core::wake(to_wake);  // only the address: the seat may be gone
    return found;
  }

  /// Waits until the ticket is notified (Notified), or heads: with no head active (at once) or
  /// when promoted (FIFO), runs head(Director&) and returns Finished with its result. An
  /// exception from head leaves enter() after the role passed on.
  template <class Head>
  auto enter(Ticket& ticket, Head&& head) {
    return enter_steady(ticket, detail::kNoDeadline, head);
  }
  /// enter() for at most `timeout` (0 on an idle stage still heads). TimedOut on timeout.
  template <class Rep, class Period, class Head>
  auto enter_for(Ticket& ticket, const std::chrono::duration<Rep, Period>& timeout, Head&& head) {
    return enter_steady(ticket, detail::deadline_after(timeout), head);
  }
  /// enter() until `when` on its own clock. TimedOut on timeout.
  template <class Clock, class Duration, class Head>
  auto enter_until(Ticket& ticket, const std::chrono::time_point<Clock, Duration>& when,
                   Head&& head) {
    using E = Exit<result_of<Head>>;
    return detail::attempt_until(
        when, [&](detail::SteadyTime d) { return enter_steady(ticket, d, head); },
        [](const E& e) { return e.kind() == E::TimedOut; });
  }

 private:
  template <class Head>
  using result_of = std::decay_t<std::invoke_result_t<Head&, Director&>>;

  void unregister(Seat* seat) noexcept {
    table_.erase(seat);  // by identity, never by token: a later equal token stays (S6)
    live_tickets_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a count for S8
  }

  template <class Head>
  Exit<result_of<Head>> enter_steady(Ticket& ticket, detail::SteadyTime deadline, Head& head) {
    using R = result_of<Head>;
    assert(ticket.stage_ == this && "exitleft::Stage::enter: a ticket of another stage");
    assert(ticket.seat_ != nullptr && "exitleft::Stage::enter: a moved-from ticket");
#ifndef NDEBUG
    inside_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count for S8
    struct Outside {
      std::atomic<int>& n;
      ~Outside() { n.fetch_sub(1, std::memory_order_relaxed); }
    } outside{inside_};
#endif
    switch (core_.enter(*ticket.seat_, deadline)) {
      case Core::Entry::Notified:
        return Exit<R>::notified();
      case Core::Entry::TimedOut:
        return Exit<R>::timed_out();
      case Core::Entry::Head:
        break;
    }
    // S4/S5: the role passes on when the head returns, and before an exception leaves enter().
    struct Leave {
      Core& core;
      ~Leave() { core.leave(); }
    } leave{core_};
    Director director(*this, *ticket.seat_);
    if constexpr (std::is_void_v<R>) {
      std::invoke(head, director);
      return Exit<R>::finished();
    } else {
      return Exit<R>::finished(std::invoke(head, director));
    }
  }

  Resource resource_;
  Buffer buffer_;
  detail::LotMutex buffer_lock_;
  Core core_;
  detail::TokenTable<Seat, Token, KeyEqual> table_;
  std::atomic<std::size_t> live_tickets_{0};
  std::atomic<int> inside_{0};
};

}  // namespace exitleft
