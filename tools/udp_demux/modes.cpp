// The modes exitleft::Stage is measured against (stage_mode.cpp has the Stage one):
//   dispatcher       one reader thread, per-peer queues (std::mutex + ring) each with an
//                    exitleft::AutoResetEvent, set once per batch per owner
//   mutex-cv         leader/followers with a std::mutex and a std::condition_variable per worker
//   socket-per-peer  one connected socket per worker, no sharing
//   single-reader    one thread drains the socket and checks; no routing (the upper limit)
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "exitleft/auto_reset_event.hpp"
#include "tools/udp_demux/session.hpp"

namespace exitleft::udp_demux {
namespace {

constexpr auto kWaitLimit = std::chrono::milliseconds(50);  // then look at the stop flags

// Decodes batch[0, n) into owners (peer indices) and payloads. False (after fail()) if a
// datagram is malformed or from an unknown address.
bool decode_batch(Session& s, const Batch& batch, std::size_t n, std::vector<int>& owner,
                  std::vector<Payload>& payload) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!decode(batch[i], payload[i])) {
      s.fail("a malformed datagram from " + to_string(batch[i].from));
      return false;
    }
    owner[i] = s.find_peer(batch[i].from);
    if (owner[i] < 0) {
      s.fail("a datagram from an unknown address " + to_string(batch[i].from));
      return false;
    }
  }
  return true;
}

// The distinct owners of one batch, in first-seen order.
class Reached {
 public:
  explicit Reached(std::size_t peers) : stamp_(peers, 0) { list_.reserve(peers); }
  void begin() noexcept {
    ++round_;
    list_.clear();
  }
  void add(int owner) {
    std::uint64_t& st = stamp_[static_cast<std::size_t>(owner)];
    if (st != round_) {
      st = round_;
      list_.push_back(owner);
    }
  }
  const std::vector<int>& list() const noexcept { return list_; }

 private:
  std::vector<std::uint64_t> stamp_;
  std::vector<int> list_;
  std::uint64_t round_ = 0;
};

// ---- dispatcher
// ----------------------------------------------------------------------------------

struct alignas(64) Inbox {
  explicit Inbox(std::size_t capacity) : ring(capacity) {}
  std::mutex mutex;
  PayloadRing ring;
  AutoResetEvent ready;  // set once per batch that brought something
};

struct Dispatcher {
  std::vector<std::unique_ptr<Inbox>> inboxes;
};

void dispatcher_worker(Session& s, Dispatcher& d, int me) {
  Inbox& inbox = *d.inboxes[static_cast<std::size_t>(me)];
  Tally& tally = s.tally(me);
  std::vector<Payload> mine;
  mine.reserve(inbox.ring.capacity());
  s.arrive_and_wait();
  bool timed_out = false;
  while (!s.aborted()) {
    {
      std::lock_guard lock(inbox.mutex);
      inbox.ring.drain(mine);
    }
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
    timed_out = !inbox.ready.wait_for(kWaitLimit);
  }
}

void dispatcher_reader(Session& s, Dispatcher& d) {
  const auto batch_size = static_cast<std::size_t>(s.batch());
  Batch batch(batch_size);
  std::vector<int> owner(batch_size);
  std::vector<Payload> payload(batch_size);
  Reached reached(static_cast<std::size_t>(s.peers()));
  UdpSocket& socket = s.server(0);
  s.arrive_and_wait();
  while (!s.aborted() && !s.all_consumers_finished()) {
    const std::size_t n = socket.receive(batch);
    if (n == 0 || !decode_batch(s, batch, n, owner, payload)) continue;
    reached.begin();
    for (std::size_t i = 0; i < n; ++i) reached.add(owner[i]);
    // One lock and one set() per owner per batch.
    for (int o : reached.list()) {
      Inbox& inbox = *d.inboxes[static_cast<std::size_t>(o)];
      bool overflow = false;
      {
        std::lock_guard lock(inbox.mutex);
        for (std::size_t i = 0; i < n; ++i) {
          if (owner[i] == o) overflow |= !inbox.ring.push(payload[i]);
        }
      }
      if (overflow) s.fail("dispatcher: a peer had more datagrams in flight than its window");
      inbox.ready.set();
    }
  }
}

// ---- mutex-cv
// ------------------------------------------------------------------------------------

struct LeaderFollowers {
  LeaderFollowers(Session& s, std::size_t peers, std::size_t window)
      : cvs(new std::condition_variable[peers]), batch(static_cast<std::size_t>(s.batch())) {
    queues.reserve(peers);
    for (std::size_t p = 0; p < peers; ++p) queues.emplace_back(window);
    waiting.reserve(peers);
  }
  std::mutex mutex;  // guards everything below but `batch`
  bool reading = false;
  std::vector<int> waiting;  // followers, in arrival order
  std::vector<PayloadRing> queues;
  std::unique_ptr<std::condition_variable[]> cvs;
  Batch batch;  // the reader's
};

// Reads as the leader until a datagram of `me` arrives (true) or a receive times out (false).
bool mutex_cv_lead(Session& s, LeaderFollowers& lf, int me, std::vector<int>& owner,
                   std::vector<Payload>& payload, Reached& reached) {
  UdpSocket& socket = s.server(0);
  while (!s.aborted()) {
    const std::size_t n = socket.receive(lf.batch);
    if (n == 0) return false;
    if (!decode_batch(s, lf.batch, n, owner, payload)) return false;
    reached.begin();
    bool own = false;
    bool overflow = false;
    {
      std::lock_guard lock(lf.mutex);
      for (std::size_t i = 0; i < n; ++i) {
        overflow |= !lf.queues[static_cast<std::size_t>(owner[i])].push(payload[i]);
        if (owner[i] == me) {
          own = true;
        } else {
          reached.add(owner[i]);
        }
      }
    }
    if (overflow) {
      s.fail("mutex-cv: a peer had more datagrams in flight than its window");
      return false;
    }
    for (int o : reached.list()) lf.cvs[o].notify_one();  // once per owner per batch
    if (own) return true;
  }
  return false;
}

void mutex_cv_worker(Session& s, LeaderFollowers& lf, int me) {
  const auto batch_size = static_cast<std::size_t>(s.batch());
  std::vector<int> owner(batch_size);
  std::vector<Payload> payload(batch_size);
  Reached reached(static_cast<std::size_t>(s.peers()));
  Tally& tally = s.tally(me);
  PayloadRing& queue = lf.queues[static_cast<std::size_t>(me)];
  std::vector<Payload> mine;
  mine.reserve(queue.capacity());
  s.arrive_and_wait();

  std::unique_lock lock(lf.mutex);
  bool finished = false;
  while (!s.aborted()) {
    if (!queue.empty()) {
      queue.drain(mine);
      lock.unlock();
      const bool ok = s.deliver(me, mine, tally);
      lock.lock();
      if (!ok) break;
      continue;
    }
    if (s.done(me)) {
      finished = true;
      break;
    }
    if (!lf.reading) {
      lf.reading = true;
      lock.unlock();
      mutex_cv_lead(s, lf, me, owner, payload, reached);
      lock.lock();
      lf.reading = false;
      if (!lf.waiting.empty()) lf.cvs[lf.waiting.front()].notify_one();  // the next leader
      continue;
    }
    lf.waiting.push_back(me);
    lf.cvs[me].wait_for(lock, kWaitLimit,
                        [&] { return !queue.empty() || !lf.reading || s.aborted(); });
    std::erase(lf.waiting, me);
  }
  // Leaving: if nobody reads, hand the role to a follower.
  if (!lf.reading && !lf.waiting.empty()) lf.cvs[lf.waiting.front()].notify_one();
  lock.unlock();
  if (finished) s.consumer_finished(tally);
}

// ---- socket-per-peer
// -----------------------------------------------------------------------------

void socket_per_peer_worker(Session& s, int me) {
  const auto batch_size = static_cast<std::size_t>(s.batch());
  Batch batch(batch_size);
  std::vector<int> owner(batch_size);
  std::vector<Payload> payload(batch_size);
  Tally& tally = s.tally(me);
  UdpSocket& socket = s.server(me);
  s.arrive_and_wait();
  while (!s.aborted()) {
    if (s.done(me)) {
      s.consumer_finished(tally);
      return;
    }
    const std::size_t n = socket.receive(batch);
    if (n == 0 || !decode_batch(s, batch, n, owner, payload)) continue;
    // The socket is connected to our peer; check() still compares each payload's peer id.
    if (!s.deliver(me, std::span<const Payload>(payload.data(), n), tally)) return;
  }
}

// ---- single-reader
// -------------------------------------------------------------------------------

void single_reader(Session& s) {
  const auto batch_size = static_cast<std::size_t>(s.batch());
  const int peers = s.peers();
  Batch batch(batch_size);
  std::vector<int> owner(batch_size);
  std::vector<Payload> payload(batch_size);
  Reached reached(static_cast<std::size_t>(peers));
  Tally& tally = s.tally(0);
  UdpSocket& socket = s.server(0);
  const auto all_done = [&] {
    for (int p = 0; p < peers; ++p) {
      if (!s.done(p)) return false;
    }
    return true;
  };
  s.arrive_and_wait();
  while (!s.aborted()) {
    const std::size_t n = socket.receive(batch);
    if (n == 0) {
      if (all_done()) break;  // also when peers stopped at the time bound
      continue;
    }
    if (!decode_batch(s, batch, n, owner, payload)) return;
    const std::int64_t now = now_ns();
    reached.begin();
    for (std::size_t i = 0; i < n; ++i) {
      if (!s.check(owner[i], payload[i], now, tally)) return;
      reached.add(owner[i]);
    }
    bool finished = true;
    for (int o : reached.list()) {
      s.ack(o);
      finished = finished && s.done(o);
    }
    // relaxed: a progress figure.
    tally.delivered.store(tally.delivered.load(std::memory_order_relaxed) + n,
                          std::memory_order_relaxed);
    if (finished && all_done()) break;
  }
  if (!s.aborted()) s.consumer_finished(tally);
}

}  // namespace

void start_dispatcher(Session& s) {
  auto d = std::make_shared<Dispatcher>();
  for (int p = 0; p < s.peers(); ++p) {
    d->inboxes.push_back(std::make_unique<Inbox>(static_cast<std::size_t>(s.window())));
  }
  s.expect_consumers(s.peers());
  s.spawn([&s, d] { dispatcher_reader(s, *d); });
  for (int p = 0; p < s.peers(); ++p) {
    s.spawn([&s, d, p] { dispatcher_worker(s, *d, p); });
  }
}

void start_mutex_cv(Session& s) {
  auto lf = std::make_shared<LeaderFollowers>(s, static_cast<std::size_t>(s.peers()),
                                              static_cast<std::size_t>(s.window()));
  s.expect_consumers(s.peers());
  for (int p = 0; p < s.peers(); ++p) {
    s.spawn([&s, lf, p] { mutex_cv_worker(s, *lf, p); });
  }
}

void start_socket_per_peer(Session& s) {
  s.expect_consumers(s.peers());
  for (int p = 0; p < s.peers(); ++p) {
    s.spawn([&s, p] { socket_per_peer_worker(s, p); });
  }
}

void start_single_reader(Session& s) {
  s.expect_consumers(1);
  s.spawn([&s] { single_reader(s); });
}

}  // namespace exitleft::udp_demux
