// exitleft-udp-demux's engine, shared by the tool (main.cpp) and bench/stage_bench.cpp.
//
// P peer threads on 127.0.0.1, each with its own UDP socket, send sequence-numbered datagrams
// (payload: peer id, sequence number, send time on steady_clock) to one unconnected server
// socket. Consumers take them off it in one of five ways (Mode) and check that every datagram
// reached its own consumer exactly once and in order. run() returns the figures, or an error.
//
// Pacing: a peer has at most `window` datagrams outstanding (sent, not yet taken by its worker);
// the worker acknowledges through an atomic counter, and a peer whose window is full sleeps on an
// AutoResetEvent until half of it is free. The windows of all peers together fit in the server
// socket's receive buffer, so the kernel never drops a datagram (it would make "exactly once"
// untestable); run() reads the socket's drop counter at the end and fails if it is not 0.
//
// Workers: the routed modes (stage, dispatcher, mutex-cv) and socket-per-peer have one worker
// per peer, which owns that peer's token (its address): workers must equal peers. single-reader
// has no workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/udp_demux/thread_costs.hpp"

namespace exitleft::udp_demux {

enum class Mode {
  // Workers share the socket through an exitleft::Stage: the head receives, routes the others'
  // datagrams into per-peer mailboxes (the stage's buffer) and notifies each owner once per batch.
  stage,
  // One reader thread routes into per-peer queues (std::mutex + ring), each with an
  // exitleft::AutoResetEvent set once per batch: the dispatcher a careful user writes.
  dispatcher,
  // Leader/followers with std::mutex and one std::condition_variable per worker: the workers take
  // turns reading the socket and hand datagrams to each other through per-peer queues.
  mutex_cv,
  // No sharing: each worker has its own socket, connected to its peer (the peers send to W ports).
  socket_per_peer,
  // One thread drains the one socket, checks and counts; no routing, no workers: the upper limit.
  single_reader,
};

inline constexpr Mode kAllModes[] = {Mode::single_reader, Mode::stage, Mode::dispatcher,
                                     Mode::mutex_cv, Mode::socket_per_peer};

std::string_view mode_name(Mode mode);  // "stage", "mutex-cv", ...
std::optional<Mode> parse_mode(std::string_view name);

struct Limits {
  static constexpr int kMaxPeers = 256;
  static constexpr std::uint64_t kMaxDatagrams = 10'000'000;  // per peer
  static constexpr double kMaxDurationSeconds = 3600;
  static constexpr int kMaxBatch = 1024;
};

struct Config {
  int peers = 8;
  int workers = 8;                   // must equal peers (single-reader ignores it)
  std::uint64_t datagrams = 20'000;  // per peer
  // Upper bound of one mode's sending time: peers stop sending when it has passed, then the
  // consumers get a few seconds to take what was sent. A run that finishes earlier stops earlier.
  std::chrono::duration<double> duration{20.0};
  int batch = 64;  // datagrams per receive (recvmmsg) and at most per send
  int window = 0;  // outstanding datagrams per peer; 0: as many as the receive buffer allows
};

// "": valid; otherwise what is wrong, for a user.
std::string validate(const Config& config);

struct Result {
  Mode mode = Mode::stage;
  int peers = 0;
  int workers = 0;  // 0 for single-reader
  int window = 0;
  std::uint64_t expected = 0;   // peers x datagrams
  std::uint64_t delivered = 0;  // datagrams that reached their consumer (each checked)
  double seconds = 0;           // from the start signal to the last delivery
  double rate = 0;              // delivered / seconds
  double p50_us = 0;            // delivery latency: send time -> the consumer has it
  double p99_us = 0;
  bool time_bound_reached = false;  // peers stopped before sending everything
  // Waits that ended by their time limit (50 ms, there to see stop flags) while the consumer's
  // datagrams were already waiting: late or lost wake-ups. 0 in a healthy run.
  std::uint64_t late_wakeups = 0;
  // What the threads cost from the start signal to their end (thread_costs.hpp): the receiving
  // side (the mode's readers, dispatcher and workers) and the sending side (the peers) apart.
  ThreadCosts receiving, sending;
  // receiving per delivered datagram: CPU microseconds, context switches (voluntary +
  // involuntary), system calls of one kind; 0 when nothing was delivered.
  double per_datagram(double total) const noexcept {
    return delivered > 0 ? total / static_cast<double>(delivered) : 0;
  }
  std::string error;  // non-empty: the run failed (what, for a user)
  bool ok() const { return error.empty(); }
};

// Called by run()'s thread a few times a second: datagrams delivered so far, and the total.
using ProgressFn = std::function<void(std::uint64_t delivered, std::uint64_t expected)>;

// Runs one mode. Throws std::invalid_argument for an invalid config and std::system_error when
// the OS refuses a socket or thread; everything the run itself finds wrong is in Result::error.
Result run(Mode mode, const Config& config, const ProgressFn& progress = {});

}  // namespace exitleft::udp_demux
