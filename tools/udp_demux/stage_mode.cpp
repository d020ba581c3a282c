// Mode "stage": the workers share the one socket through an exitleft::Stage.
//
// Token: the peer's address. Resource: the socket and a receive batch. Buffer: one mailbox (a
// ring of at most a window of datagrams) per peer. Each worker runs the intended loop of
// include/exitleft/stage.hpp: take a ticket, look in its mailbox, and if it is empty, enter().
// The head receives a batch (recvmmsg), stores every datagram in its owner's mailbox under one
// buffer lock, notifies each other owner once per batch, and delivers its own datagrams itself:
// it keeps the head role until its peer has sent everything (or the socket stays quiet for the
// wait limit), so the role moves once per worker, not once per batch of the head's own.
#include <memory>
#include <vector>

#include "exitleft/stage.hpp"
#include "tools/udp_demux/session.hpp"

namespace exitleft::udp_demux {
namespace {

struct Receiver {
  UdpSocket* socket;
  Batch batch;
};

struct Mailboxes {
  std::vector<PayloadRing> of_peer;
};

using PeerStage = Stage<Endpoint, Receiver, Mailboxes, EndpointHash>;

constexpr auto kWaitLimit = std::chrono::milliseconds(50);  // then look at the stop flags

void worker(Session& s, PeerStage& stage, int me) {
  const auto batch = static_cast<std::size_t>(s.batch());
  const auto peers = static_cast<std::size_t>(s.peers());
  Tally& tally = s.tally(me);
  std::vector<Payload> mine;  // what this worker took from its mailbox
  mine.reserve(PayloadRing(static_cast<std::size_t>(s.window())).capacity());
  // The head's scratch: each datagram's owner and payload, and which owners a batch reached.
  std::vector<int> owner(batch);
  std::vector<Payload> payload(batch);
  std::vector<int> reached;
  reached.reserve(peers);
  std::vector<std::uint64_t> reached_in(peers, 0);
  std::uint64_t round = 0;

  // Register before looking: a notification that comes in between is kept (S2).
  std::optional<PeerStage::Ticket> ticket = stage.ticket(s.peer_address(me));
  if (!ticket) {
    s.fail("stage: the token of peer " + std::to_string(me) + " is already registered");
  }

  const auto head = [&](PeerStage::Director& director) -> bool {
    Receiver& r = director.resource();
    while (!s.aborted()) {
      const std::size_t n = r.socket->receive(r.batch);
      if (n == 0) return false;  // timed out: the worker looks at its state again
      // Decode and look up the owners before taking the buffer lock.
      for (std::size_t i = 0; i < n; ++i) {
        owner[i] = decode(r.batch[i], payload[i]) ? s.find_peer(r.batch[i].from) : -2;
        if (owner[i] < 0) {
          s.fail(owner[i] == -1
                     ? "stage: a datagram from an unknown address " + to_string(r.batch[i].from)
                     : "stage: a malformed datagram from " + to_string(r.batch[i].from));
          return false;
        }
      }
      ++round;
      reached.clear();
      bool own = false;
      bool overflow = false;
      director.buffer([&](Mailboxes& m) {
        for (std::size_t i = 0; i < n; ++i) {
          const int o = owner[i];
          overflow |= !m.of_peer[static_cast<std::size_t>(o)].push(payload[i]);
          if (o == me) {
            own = true;
          } else if (reached_in[static_cast<std::size_t>(o)] != round) {
            reached_in[static_cast<std::size_t>(o)] = round;
            reached.push_back(o);
          }
        }
      });
      if (overflow) {
        s.fail("stage: a peer had more datagrams in flight than its window");
        return false;
      }
      // Once per owner per batch; a notify to an owner that is already notified is one atomic.
      for (int o : reached) director.notify(s.peer_address(o));
      if (!own) continue;
      // The head's own datagrams: it delivers them here and keeps the role, instead of leaving
      // (a wake-up of the next waiter, and a park of its own when it comes back) each time its
      // peer sends. The mailbox is drained whole, so what an earlier head put there comes first.
      director.buffer([&](Mailboxes& m) { m.of_peer[static_cast<std::size_t>(me)].drain(mine); });
      if (!s.deliver(me, mine, tally)) return false;
      if (s.done(me)) return true;  // nothing more will come for us: hand the role on
    }
    return false;
  };

  s.arrive_and_wait();
  bool timed_out = false;
  while (ticket && !s.aborted()) {
    stage.buffer([&](Mailboxes& m) { m.of_peer[static_cast<std::size_t>(me)].drain(mine); });
    if (!mine.empty()) {
      if (timed_out) s.note_late_wakeup();
      if (!s.deliver(me, mine, tally)) return;
      timed_out = false;
      continue;
    }
    if (s.done(me)) {
      s.consumer_finished(tally);
      return;
    }
    // Finished (we headed), Notified, or TimedOut: in each case, look in the mailbox again.
    const auto exit = stage.enter_for(*ticket, kWaitLimit, head);
    timed_out = exit.kind() == decltype(exit)::TimedOut;
  }
}

}  // namespace

void start_stage(Session& s) {
  const auto peers = static_cast<std::size_t>(s.peers());
  Mailboxes boxes;
  boxes.of_peer.reserve(peers);
  for (std::size_t p = 0; p < peers; ++p) {
    boxes.of_peer.emplace_back(static_cast<std::size_t>(s.window()));
  }
  // Shared by the workers; the last one to finish destroys it, after every ticket is gone.
  auto stage = std::make_shared<PeerStage>(
      Receiver{&s.server(0), Batch(static_cast<std::size_t>(s.batch()))}, std::move(boxes));
  s.expect_consumers(s.peers());
  for (int p = 0; p < s.peers(); ++p) {
    s.spawn([&s, stage, p] { worker(s, *stage, p); });
  }
}

}  // namespace exitleft::udp_demux
