// What every mode of exitleft-udp-demux shares (internal to tools/udp_demux/): the sockets, the
// peer threads and their pacing, the check of every delivered datagram, the latency histogram,
// and the thread lifecycle (everyone waits at a start gate; a first error stops everything).
//
// A mode (modes.cpp, stage_mode.cpp; declared at the end of this file) spawns its consumer threads
// through Session::spawn(); each consumer calls arrive_and_wait() once set up, then feeds what it
// takes to deliver() / check() + ack(), and calls consumer_finished() when done(peer) holds for
// every peer it serves. run() (session.cpp) supervises: it starts the clock, reports progress,
// enforces the time bound, joins, and adds up.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "exitleft/auto_reset_event.hpp"
#include "exitleft/countdown_event.hpp"
#include "exitleft/manual_reset_event.hpp"
#include "tools/udp_demux/demux.hpp"
#include "tools/udp_demux/udp_socket.hpp"

namespace exitleft::udp_demux {

using Clock = std::chrono::steady_clock;

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// What a peer sends: 24 bytes, in the host's byte order (both ends are this process).
struct Payload {
  static constexpr std::uint32_t kMagic = 0x444C5845;  // "EXLD"
  std::uint32_t peer = 0;
  std::uint32_t magic = kMagic;
  std::uint64_t seq = 0;
  std::int64_t sent_ns = 0;  // steady_clock, just before the send call
};

inline void encode(const Payload& p, Batch::Slot& slot) noexcept {
  std::memcpy(slot.data.data(), &p, sizeof p);
  slot.length = sizeof p;
}
// False if the slot does not hold a Payload.
inline bool decode(const Batch::Slot& slot, Payload& p) noexcept {
  if (slot.length != sizeof p) return false;
  std::memcpy(&p, slot.data.data(), sizeof p);
  return p.magic == Payload::kMagic;
}

// A fixed-capacity FIFO of payloads (a power of two). Not synchronized.
class PayloadRing {
 public:
  explicit PayloadRing(std::size_t min_capacity)
      : slots_(std::bit_ceil(std::max<std::size_t>(min_capacity, 1))), mask_(slots_.size() - 1) {}
  std::size_t capacity() const noexcept { return slots_.size(); }
  bool empty() const noexcept { return head_ == tail_; }
  // False (and nothing stored) when full.
  bool push(const Payload& p) noexcept {
    if (tail_ - head_ == slots_.size()) return false;
    slots_[tail_++ & mask_] = p;
    return true;
  }
  // Moves everything into `out` (cleared first; reserve capacity() to avoid allocating).
  void drain(std::vector<Payload>& out) {
    out.clear();
    while (head_ != tail_) out.push_back(slots_[head_++ & mask_]);
  }

 private:
  std::vector<Payload> slots_;
  std::size_t mask_;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
};

// Latencies in nanoseconds, log-linear buckets (16 per power of two: within 6.25%).
class LatencyHistogram {
 public:
  void add(std::int64_t ns) noexcept {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    ++counts_[index(v)];
    ++count_;
  }
  void merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
  }
  std::uint64_t count() const noexcept { return count_; }
  // The q-quantile (0 < q <= 1), the middle of its bucket; 0 when empty.
  double quantile_ns(double q) const noexcept;

 private:
  static constexpr std::size_t kSub = 16;
  static constexpr std::size_t kBuckets = kSub + 60 * kSub;
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < kSub) return static_cast<std::size_t>(v);
    const auto e = static_cast<int>(std::bit_width(v)) - 1;  // >= 4
    return kSub + static_cast<std::size_t>(e - 4) * kSub + ((v >> (e - 4)) & (kSub - 1));
  }
  std::uint64_t counts_[kBuckets] = {};
  std::uint64_t count_ = 0;
};

// One consumer thread's figures. The owner writes; run() reads `delivered` while it runs.
struct alignas(64) Tally {
  std::atomic<std::uint64_t> delivered{0};  // relaxed: a progress figure
  std::int64_t last_ns = 0;                 // time of the last delivery
  LatencyHistogram latency;
};

class Session {
 public:
  Session(Mode mode, const Config& config);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Mode mode() const noexcept { return mode_; }
  int peers() const noexcept { return config_.peers; }
  int batch() const noexcept { return config_.batch; }
  int window() const noexcept { return window_; }

  // The server sockets: one, or one per peer (socket-per-peer, server(p) connected to peer p).
  UdpSocket& server(int i) noexcept { return servers_[static_cast<std::size_t>(i)]; }
  const Endpoint& peer_address(int p) const noexcept {
    return peer_addresses_[static_cast<std::size_t>(p)];
  }
  // The peer index of an address, -1 if it is not one of ours. Read-only, any thread.
  int find_peer(const Endpoint& e) const noexcept {
    for (std::size_t i = EndpointHash{}(e)&index_mask_;; i = (i + 1) & index_mask_) {
      const IndexSlot& slot = index_[i];
      if (slot.peer < 0) return -1;
      if (slot.address == e) return slot.peer;
    }
  }

  // ---- thread lifecycle ----
  // Which side of the socket a thread works on, for its costs (Result::receiving / sending).
  enum class Side { receiving, sending };
  // Starts a thread running body(); an exception it throws becomes the run's error. The thread's
  // costs count from its arrive_and_wait() to its end.
  void spawn(std::function<void()> body, Side side = Side::receiving);
  // How many consumer threads the mode runs (call before spawning them).
  void expect_consumers(int n);
  // Each spawned thread calls this once it is set up; returns when the clock starts (or at once
  // when the run is aborted).
  void arrive_and_wait();
  // A first error stops the run: every thread sees aborted() and returns.
  void fail(std::string message);
  bool aborted() const noexcept {
    return aborted_.load(std::memory_order_acquire);  // acquire: pairs with fail()'s release
  }

  // ---- consumers ----
  Tally& tally(int consumer) noexcept { return *tallies_[static_cast<std::size_t>(consumer)]; }
  // Checks one datagram taken for `peer`: from that peer, the next in sequence. Records its
  // latency against `now`. False after fail() if it is wrong. Call ack() after a run of checks.
  bool check(int peer, const Payload& p, std::int64_t now, Tally& tally);
  // Tells the peer how far its datagrams got (frees its window).
  void ack(int peer) noexcept;
  // check() + ack() for datagrams of one peer. False on error.
  bool deliver(int peer, std::span<const Payload> datagrams, Tally& tally);
  // True once every datagram `peer` sent (all of them, or as many as it sent before the time
  // bound) has been checked.
  bool done(int peer) const noexcept {
    const PeerState& ps = *peer_states_[static_cast<std::size_t>(peer)];
    // acquire: pairs with the release store of `total` by a peer that stopped early.
    return ps.next >= ps.total.load(std::memory_order_acquire);
  }
  // A consumer's wait ended by its time limit while its datagrams were already there: a
  // wake-up came late or not at all (a diagnostic; the limit only exists to see stop flags).
  void note_late_wakeup() noexcept {
    late_wakeups_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count
  }
  // The consumer has everything of its peers (not after an abort).
  void consumer_finished(Tally& tally);
  bool all_consumers_finished() noexcept { return consumers_left_.try_wait(); }

  // ---- run() ----
  Result supervise(const ProgressFn& progress);

 private:
  struct alignas(64) PeerState {
    // Written by the consumer, read by the peer.
    std::atomic<std::uint64_t> acked{0};
    // The ack the peer sleeps for (0: none); see ack() and peer_main().
    std::atomic<std::uint64_t> want{0};
    // Datagrams the peer sends in all: the configured count, lowered by a peer that stops at
    // the time bound.
    std::atomic<std::uint64_t> total{0};
    AutoResetEvent credit;
    alignas(64) std::uint64_t next = 0;  // the consumer's: next sequence number expected
  };
  struct IndexSlot {
    Endpoint address;
    int peer = -1;
  };

  void peer_main(int p);
  std::uint64_t delivered_so_far() const noexcept;

  const Mode mode_;
  const Config config_;
  int window_ = 0;
  std::vector<UdpSocket> servers_;
  std::vector<UdpSocket> peer_sockets_;
  std::vector<Endpoint> peer_addresses_;
  std::vector<IndexSlot> index_;
  std::size_t index_mask_ = 0;
  std::vector<std::unique_ptr<PeerState>> peer_states_;
  std::vector<std::unique_ptr<Tally>> tallies_;

  std::vector<std::thread> threads_;
  std::atomic<std::size_t> arrived_{0};
  ManualResetEvent gate_;
  CountdownEvent consumers_left_{0};
  std::atomic<bool> stop_sending_{false};
  std::atomic<bool> aborted_{false};
  std::atomic<std::uint64_t> late_wakeups_{0};
  std::int64_t start_ns_ = 0;
  std::mutex error_mutex_;
  std::string error_;
  std::mutex costs_mutex_;
  ThreadCosts costs_[2];  // by Side
};

// The modes (modes.cpp, stage_mode.cpp): each spawns its threads through the session.
void start_stage(Session& s);
void start_dispatcher(Session& s);
void start_mutex_cv(Session& s);
void start_socket_per_peer(Session& s);
void start_single_reader(Session& s);

}  // namespace exitleft::udp_demux
