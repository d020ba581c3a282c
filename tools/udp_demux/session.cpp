// The session of exitleft-udp-demux: sockets, peers and their pacing, checks, supervision.
#include "tools/udp_demux/session.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <utility>

namespace exitleft::udp_demux {
namespace {

// The receive buffer asked for, and what one small datagram costs in it: Linux charges a
// datagram's whole buffer (832 bytes for 24 bytes of payload over loopback on 6.x kernels); a
// margin on top, and the windows of all peers together use at most 3/4 of the buffer.
constexpr std::size_t kReceiveBuffer = std::size_t{4} << 20;
constexpr std::size_t kBytesPerDatagram = 1024;
constexpr int kMaxWindow = 256;
// How long blocking calls wait before looking at the stop flags again.
constexpr auto kPoll = std::chrono::milliseconds(50);
// After the time bound, how long consumers get to take what was sent before the run is
// declared stalled.
constexpr auto kDrainGrace = std::chrono::seconds(5);
// How long the threads get to set up.
constexpr auto kSetupLimit = std::chrono::seconds(30);

// The meter of the calling thread if the session spawned it (started by arrive_and_wait()).
thread_local ThreadCostMeter* t_meter = nullptr;

constexpr std::array<std::pair<Mode, std::string_view>, 5> kNames{{
    {Mode::stage, "stage"},
    {Mode::dispatcher, "dispatcher"},
    {Mode::mutex_cv, "mutex-cv"},
    {Mode::socket_per_peer, "socket-per-peer"},
    {Mode::single_reader, "single-reader"},
}};

}  // namespace

std::string_view mode_name(Mode mode) {
  for (const auto& [m, name] : kNames) {
    if (m == mode) return name;
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view name) {
  for (const auto& [m, n] : kNames) {
    if (n == name) return m;
  }
  return std::nullopt;
}

std::string validate(const Config& c) {
  if (c.peers < 1 || c.peers > Limits::kMaxPeers) {
    return "peers must be between 1 and " + std::to_string(Limits::kMaxPeers);
  }
  if (c.workers != c.peers) {
    return "workers (" + std::to_string(c.workers) + ") must equal peers (" +
           std::to_string(c.peers) +
           "): each worker owns one peer's token and waits for that peer's datagrams";
  }
  if (c.datagrams < 1 || c.datagrams > Limits::kMaxDatagrams) {
    return "datagrams (per peer) must be between 1 and " + std::to_string(Limits::kMaxDatagrams);
  }
  if (!(c.duration.count() > 0) || c.duration.count() > Limits::kMaxDurationSeconds) {
    return "duration must be more than 0 and at most " +
           std::to_string(static_cast<int>(Limits::kMaxDurationSeconds)) + " seconds";
  }
  if (c.batch < 1 || c.batch > Limits::kMaxBatch) {
    return "batch must be between 1 and " + std::to_string(Limits::kMaxBatch);
  }
  if (c.window < 0 || c.window > kMaxWindow) {
    return "window must be between 0 (automatic) and " + std::to_string(kMaxWindow);
  }
  return "";
}

double LatencyHistogram::quantile_ns(double q) const noexcept {
  if (count_ == 0) return 0;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    if (i < kSub) return static_cast<double>(i);
    const std::size_t e = (i - kSub) / kSub + 4;
    const std::size_t sub = (i - kSub) % kSub;
    const double width = static_cast<double>(std::uint64_t{1} << (e - 4));
    return static_cast<double>(kSub + sub) * width + width / 2;
  }
  return 0;
}

// ---- setup
// ---------------------------------------------------------------------------------------

Session::Session(Mode mode, const Config& config) : mode_(mode), config_(config) {
  if (std::string why = validate(config); !why.empty()) throw std::invalid_argument(why);
  const auto peers = static_cast<std::size_t>(config.peers);

  const std::size_t server_count = mode == Mode::socket_per_peer ? peers : 1;
  std::size_t buffer = SIZE_MAX;
  for (std::size_t i = 0; i < server_count; ++i) {
    servers_.push_back(UdpSocket::bind_loopback());
    buffer = std::min(buffer, servers_.back().set_receive_buffer(kReceiveBuffer));
    servers_.back().set_receive_timeout(kPoll);
  }
  // Every peer's window counts against one buffer, as if all shared one socket (they do, except
  // in socket-per-peer, which gets the same windows so that the modes pace alike).
  const std::size_t budget = buffer / kBytesPerDatagram * 3 / 4;
  if (config.window > 0) {
    window_ = config.window;
    if (static_cast<std::size_t>(window_) * peers > budget) {
      throw std::invalid_argument(
          "window " + std::to_string(window_) + " x " + std::to_string(peers) +
          " peers does not fit the receive buffer (" + std::to_string(budget) +
          " datagrams): the kernel would drop datagrams");
    }
  } else {
    const std::size_t per_peer = std::min<std::size_t>(budget / peers, kMaxWindow);
    if (per_peer == 0) {
      throw std::invalid_argument("the receive buffer (" + std::to_string(buffer) +
                                  " bytes) is too small for " + std::to_string(peers) + " peers");
    }
    window_ = static_cast<int>(std::bit_floor(per_peer));
  }

  index_.resize(std::bit_ceil(peers * 4));
  index_mask_ = index_.size() - 1;
  for (std::size_t p = 0; p < peers; ++p) {
    peer_sockets_.push_back(UdpSocket::bind_loopback());
    const Endpoint me = peer_sockets_.back().local_endpoint();
    peer_addresses_.push_back(me);
    for (std::size_t i = EndpointHash{}(me)&index_mask_;; i = (i + 1) & index_mask_) {
      if (index_[i].peer < 0) {
        index_[i] = IndexSlot{me, static_cast<int>(p)};
        break;
      }
    }
    UdpSocket& server = servers_[server_count == 1 ? 0 : p];
    peer_sockets_.back().connect(server.local_endpoint());
    if (server_count > 1) server.connect(me);

    peer_states_.push_back(std::make_unique<PeerState>());
    peer_states_.back()->total.store(config.datagrams, std::memory_order_relaxed);
  }
  const std::size_t consumers = mode == Mode::single_reader ? 1 : peers;
  for (std::size_t i = 0; i < consumers; ++i) tallies_.push_back(std::make_unique<Tally>());
}

Session::~Session() {
  if (threads_.empty()) return;
  // Only when supervise() did not run to its end (an exception): stop and join everyone.
  fail("the run was interrupted");
  gate_.set();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

// ---- threads
// -------------------------------------------------------------------------------------

void Session::spawn(std::function<void()> body, Side side) {
  threads_.emplace_back([this, side, body = std::move(body)] {
    ThreadCostMeter meter;
    t_meter = &meter;
    try {
      body();
    } catch (const std::exception& e) {
      fail(e.what());
    }
    t_meter = nullptr;
    const ThreadCosts c = meter.stop();
    std::lock_guard lock(costs_mutex_);
    costs_[static_cast<int>(side)] += c;
  });
}

void Session::expect_consumers(int n) {
  consumers_left_.reset(static_cast<std::size_t>(n));
}

void Session::arrive_and_wait() {
  // release: pairs with the acquire in supervise(), which starts the clock when all arrived.
  arrived_.fetch_add(1, std::memory_order_release);
  gate_.wait();
  if (t_meter != nullptr) t_meter->start();
}

void Session::fail(std::string message) {
  {
    std::lock_guard lock(error_mutex_);
    if (error_.empty()) error_ = std::move(message);
  }
  // release: pairs with the acquire in aborted().
  aborted_.store(true, std::memory_order_release);
}

// ---- peers
// ---------------------------------------------------------------------------------------

// Pacing: at most window_ datagrams outstanding; sends in chunks of half a window (or what is
// left), so a peer sleeps at most once per half window.
void Session::peer_main(int p) {
  PeerState& ps = *peer_states_[static_cast<std::size_t>(p)];
  UdpSocket& socket = peer_sockets_[static_cast<std::size_t>(p)];
  const auto window = static_cast<std::uint64_t>(window_);
  const std::uint64_t half = std::max<std::uint64_t>(1, window / 2);
  Batch out(std::min<std::size_t>(window, static_cast<std::size_t>(config_.batch)));
  arrive_and_wait();

  std::uint64_t sent = 0;
  const std::uint64_t total = config_.datagrams;
  while (sent < total) {
    // relaxed: a flag checked between sends; the store of `total` below carries the ordering.
    if (stop_sending_.load(std::memory_order_relaxed) || aborted()) break;
    // acquire: pairs with the store in ack(); nothing is read through it, but it is cheap.
    const std::uint64_t acked = ps.acked.load(std::memory_order_acquire);
    const std::uint64_t room = window - (sent - acked);
    const std::uint64_t need = std::min(half, total - sent);
    if (room >= need) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>({room, total - sent, out.capacity()}));
      const std::int64_t t = now_ns();
      for (std::size_t i = 0; i < n; ++i) {
        encode(Payload{static_cast<std::uint32_t>(p), Payload::kMagic, sent + i, t}, out[i]);
      }
      socket.send(out, n);
      sent += n;
      continue;
    }
    // Sleep until `need` slots are free: until acked reaches `target`. seq_cst store then load,
    // against ack()'s seq_cst store of acked then load of want: either we see the ack, or
    // ack() sees our want and sets the event.
    const std::uint64_t target = sent + need - window;
    ps.want.store(target, std::memory_order_seq_cst);
    if (ps.acked.load(std::memory_order_seq_cst) >= target) continue;
    ps.credit.wait_for(kPoll);  // a timeout only looks at the stop flags again
  }
  if (sent < total) {
    // release: pairs with the acquire in done(); the consumer then waits for `sent` only.
    ps.total.store(sent, std::memory_order_release);
  }
}

// ---- consumers
// -----------------------------------------------------------------------------------

bool Session::check(int peer, const Payload& d, std::int64_t now, Tally& tally) {
  PeerState& ps = *peer_states_[static_cast<std::size_t>(peer)];
  if (d.peer != static_cast<std::uint32_t>(peer)) {
    fail("a datagram of peer " + std::to_string(d.peer) + " (by its payload) was delivered as " +
         "peer " + std::to_string(peer) + "'s (" + to_string(peer_address(peer)) + ")");
    return false;
  }
  if (d.seq != ps.next) {
    fail("peer " + std::to_string(peer) + ": datagram #" + std::to_string(d.seq) +
         " was delivered when #" + std::to_string(ps.next) + " was due (" +
         (d.seq < ps.next ? "duplicated or reordered" : "lost or reordered") + ")");
    return false;
  }
  ++ps.next;
  tally.latency.add(now - d.sent_ns);
  tally.last_ns = now;
  return true;
}

void Session::ack(int peer) noexcept {
  PeerState& ps = *peer_states_[static_cast<std::size_t>(peer)];
  // seq_cst: the store-then-load pairs with peer_main()'s store of want then load of acked.
  ps.acked.store(ps.next, std::memory_order_seq_cst);
  std::uint64_t want = ps.want.load(std::memory_order_seq_cst);
  // The peer sleeps (or is about to) for `want`: wake it once (the exchange makes it once).
  if (want != 0 && want <= ps.next &&
      ps.want.compare_exchange_strong(want, 0, std::memory_order_relaxed)) {
    ps.credit.set();
  }
}

bool Session::deliver(int peer, std::span<const Payload> datagrams, Tally& tally) {
  const std::int64_t now = now_ns();
  for (const Payload& d : datagrams) {
    if (!check(peer, d, now, tally)) return false;
  }
  ack(peer);
  // relaxed: a progress figure.
  tally.delivered.store(tally.delivered.load(std::memory_order_relaxed) + datagrams.size(),
                        std::memory_order_relaxed);
  return true;
}

void Session::consumer_finished(Tally&) {
  consumers_left_.decrement();
}

std::uint64_t Session::delivered_so_far() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tallies_) n += t->delivered.load(std::memory_order_relaxed);
  return n;
}

// ---- supervision
// ---------------------------------------------------------------------------------

Result Session::supervise(const ProgressFn& progress) {
  Result r;
  r.mode = mode_;
  r.peers = config_.peers;
  r.workers = mode_ == Mode::single_reader ? 0 : config_.workers;
  r.window = window_;
  r.expected = static_cast<std::uint64_t>(config_.peers) * config_.datagrams;

  // Peers last: the consumers (spawned by the mode) are all set up by the time data flows.
  for (int p = 0; p < config_.peers; ++p) spawn([this, p] { peer_main(p); }, Side::sending);

  const auto setup_deadline = Clock::now() + kSetupLimit;
  // acquire: pairs with the release increments in arrive_and_wait().
  while (arrived_.load(std::memory_order_acquire) < threads_.size() && !aborted()) {
    if (Clock::now() > setup_deadline) {
      fail("the threads did not start within " + std::to_string(kSetupLimit.count()) + " s");
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  start_ns_ = now_ns();
  const auto start = Clock::now();
  const auto bound = start + std::chrono::duration_cast<Clock::duration>(config_.duration);
  gate_.set();

  std::optional<Clock::time_point> stall_deadline;
  bool stalled = false;
  while (!aborted()) {
    if (consumers_left_.wait_for(std::chrono::milliseconds(250))) break;
    if (progress) progress(delivered_so_far(), r.expected);
    const auto now = Clock::now();
    if (!stall_deadline && now >= bound) {
      // relaxed: the peers poll it; what they do after it is published through `total`.
      stop_sending_.store(true, std::memory_order_relaxed);
      r.time_bound_reached = true;
      stall_deadline = now + kDrainGrace;
    } else if (stall_deadline && now >= *stall_deadline) {
      stalled = true;
      // release: pairs with the acquire in aborted(); the message is written after the join,
      // when the consumers' counters can be read.
      aborted_.store(true, std::memory_order_release);
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();

  // A kernel drop shows up above as a gap or a stall; name the cause first.
  std::int64_t drops = 0;
  for (UdpSocket& s : servers_) drops += std::max<std::int64_t>(0, s.kernel_drops());
  if (drops > 0) {
    std::lock_guard lock(error_mutex_);
    error_ = "the kernel dropped " + std::to_string(drops) +
             " datagrams (receive buffer full): pacing is broken" +
             (error_.empty() ? "" : "; first symptom: " + error_);
    aborted_.store(true, std::memory_order_relaxed);  // relaxed: every thread is joined
  }

  if (stalled) {
    std::string who;
    for (int p = 0; p < config_.peers && who.size() < 200; ++p) {
      const PeerState& ps = *peer_states_[static_cast<std::size_t>(p)];
      const std::uint64_t total = ps.total.load(std::memory_order_relaxed);  // after the join
      if (ps.next < total) {
        who += " peer " + std::to_string(p) + " (" + std::to_string(ps.next) + " of " +
               std::to_string(total) + ")";
      }
    }
    fail("stalled: " + std::to_string(kDrainGrace.count()) +
         " s after the peers stopped, datagrams they sent had still not arrived:" + who);
  }

  LatencyHistogram all;
  std::int64_t last = start_ns_;
  for (const auto& t : tallies_) {
    all.merge(t->latency);
    last = std::max(last, t->last_ns);
  }
  r.delivered = all.count();
  r.late_wakeups = late_wakeups_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(costs_mutex_);  // every thread is joined; the lock is for form
    r.receiving = costs_[static_cast<int>(Side::receiving)];
    r.sending = costs_[static_cast<int>(Side::sending)];
  }
  r.seconds = static_cast<double>(last - start_ns_) * 1e-9;
  r.rate = r.seconds > 0 ? static_cast<double>(r.delivered) / r.seconds : 0;
  r.p50_us = all.quantile_ns(0.50) * 1e-3;
  r.p99_us = all.quantile_ns(0.99) * 1e-3;
  {
    std::lock_guard lock(error_mutex_);
    r.error = error_;
  }
  if (r.ok() && !r.time_bound_reached && r.delivered != r.expected) {
    r.error = "delivered " + std::to_string(r.delivered) + " datagrams, expected " +
              std::to_string(r.expected);
  }
  return r;
}

Result run(Mode mode, const Config& config, const ProgressFn& progress) {
  Session s(mode, config);
  switch (mode) {
    case Mode::stage:
      start_stage(s);
      break;
    case Mode::dispatcher:
      start_dispatcher(s);
      break;
    case Mode::mutex_cv:
      start_mutex_cv(s);
      break;
    case Mode::socket_per_peer:
      start_socket_per_peer(s);
      break;
    case Mode::single_reader:
      start_single_reader(s);
      break;
  }
  return s.supervise(progress);
}

}  // namespace exitleft::udp_demux
