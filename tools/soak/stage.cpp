// exitleft-soak: a Stage routing messages between worker threads by token through a fake
// in-memory resource that only one thread at a time may read.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exitleft/semaphore.hpp"
#include "exitleft/stage.hpp"
#include "tools/soak/soak.hpp"

namespace exitleft::soak {
namespace {

struct Message {
  unsigned token;
  std::uint64_t seq;
};

// The shared resource: a FIFO "wire" that blocks its reader until a message comes (like an
// unconnected socket). It notes whether two threads were ever inside receive() at once (S1).
class Wire {
 public:
  void send(Message m) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(m);
    }
    cv_.notify_one();
  }
  std::optional<Message> receive(std::chrono::microseconds timeout) {
    if (readers_.fetch_add(1, std::memory_order_relaxed) != 0) concurrent_.store(true);
    std::optional<Message> m;
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); })) {
        m = queue_.front();
        queue_.pop_front();
      }
    }
    readers_.fetch_sub(1, std::memory_order_relaxed);
    return m;
  }
  bool saw_concurrent_readers() const { return concurrent_.load(); }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
  std::atomic<int> readers_{0};
  std::atomic<bool> concurrent_{false};
};

using Mailboxes = std::vector<std::deque<std::uint64_t>>;  // one per token
using MessageStage = Stage<unsigned, Wire*, Mailboxes>;

struct HeadHiccup {};  // thrown by a head now and then: the role must pass on (S5)

// A feeder sends sequence-numbered messages for random tokens onto the wire, at most kCredits
// undelivered at a time (an exitleft Semaphore). Worker i owns token i: it looks in its mailbox,
// and if nothing is there enters the stage; as head it reads the wire, keeps its own message and
// leaves the others' in their mailboxes with a notify. Every message must reach its owner once
// and in order; now and then a worker drops its ticket and takes a new one (S6).
class StageScenario final : public Scenario {
 public:
  StageScenario(const Options& o, Failures& f) : Scenario("stage", o, f) {}
  ~StageScenario() override { join(); }  // the threads use the stage: join before it dies

  void start() override {
    tokens_ = std::max(2u, options().threads);
    stage_ = std::make_unique<MessageStage>(&wire_, Mailboxes(tokens_));
    books_ = std::make_unique<Books[]>(tokens_);
    spawn("feeder", [this](Worker& w) { feed(w); });
    for (unsigned i = 0; i < tokens_; ++i) {
      spawn("worker " + std::to_string(i), [this, i](Worker& w) { work(w, i); });
    }
  }

  void verify() override {
    if (wire_.saw_concurrent_readers()) fail("two threads read the resource at once (S1)");
    for (unsigned i = 0; i < tokens_; ++i) {
      if (books_[i].delivered.load() != books_[i].sent.load()) {
        fail(format("token %u: %llu messages sent, %llu delivered", i, ull(books_[i].sent.load()),
                    ull(books_[i].delivered.load())));
      }
    }
    if (wire_.size() != 0) fail(format("%zu messages left on the wire", wire_.size()));
    if (credits_.count() != kCredits) {
      fail(format("%u credits at the end, expected %u", credits_.count(), kCredits));
    }
  }

  std::string summary() const override {
    std::uint64_t delivered = 0;
    for (unsigned i = 0; i < tokens_; ++i) delivered += books_[i].delivered.load();
    return format(
        "%llu messages to %u tokens delivered once and in order; %llu heads, %llu "
        "routed by a head, %llu Notified, %llu TimedOut, %llu heads threw, %llu "
        "tickets renewed",
        ull(delivered), tokens_, ull(heads_.load()), ull(routed_.load()), ull(notified_.load()),
        ull(timeouts_.load()), ull(throws_.load()), ull(renewed_.load()));
  }
  std::uint64_t headline() const override {
    std::uint64_t delivered = 0;
    for (unsigned i = 0; i < tokens_; ++i) {
      delivered += books_[i].delivered.load(std::memory_order_relaxed);
    }
    return delivered;
  }
  std::string describe() const override {
    std::string out = format("%zu on the wire; ", wire_.size());
    for (unsigned i = 0; i < tokens_; ++i) {
      out += format("token %u: sent %llu delivered %llu; ", i, ull(books_[i].sent.load()),
                    ull(books_[i].delivered.load()));
    }
    return out;
  }

 private:
  static constexpr std::uint32_t kCredits = 64;
  struct alignas(64) Books {
    std::atomic<std::uint64_t> sent{0};       // written by the feeder only
    std::atomic<std::uint64_t> delivered{0};  // written by the token's worker only
  };

  void feed(Worker& w) {
    Rng& rng = w.rng();
    while (!stopping()) {
      w.at("Semaphore::try_acquire_for (credit)");
      if (!credits_.try_acquire_for(std::chrono::milliseconds(5))) continue;
      const unsigned token = rng.below(tokens_);
      Books& b = books_[token];
      w.at("sending");
      wire_.send({token, b.sent.load(std::memory_order_relaxed)});
      b.sent.fetch_add(1, std::memory_order_release);  // release: read with feeder_done_
      w.tick();
    }
    feeder_done_.store(true, std::memory_order_release);  // release: pairs with the workers
  }

  // Books the messages for `token`, in the order received.
  void deliver(Worker& w, unsigned token, std::uint64_t& expected,
               const std::vector<std::uint64_t>& seqs) {
    for (std::uint64_t seq : seqs) {
      if (seq != expected) {
        fail(
            format("token %u received message %llu, expected %llu (lost, duplicated or out of "
                   "order)",
                   token, ull(seq), ull(expected)));
      }
      expected = seq + 1;
      books_[token].delivered.fetch_add(1, std::memory_order_relaxed);
      credits_.release(1);
      w.tick();
    }
  }

  void take_mailbox(unsigned token, std::vector<std::uint64_t>& out) {
    out.clear();
    stage_->buffer([&](Mailboxes& m) {
      out.assign(m[token].begin(), m[token].end());
      m[token].clear();
    });
  }

  // The head's function. Returns true once it read a message of its own: `own` then holds
  // what was in its mailbox followed by that message, taken while it still heads, so that no
  // later message can be routed in between (the next head starts when this one returns).
  bool head(MessageStage::Director& d, unsigned token, Worker& w, std::vector<std::uint64_t>& own) {
    Rng& rng = w.rng();
    for (int k = 0; k < 32; ++k) {
      w.at("heading: receiving from the wire");
      const std::optional<Message> m = d.resource()->receive(rng.timeout(1000));
      if (!m) {
        if (rng.one_in(64)) throw HeadHiccup{};  // the wire is quiet: nothing to lose
        return false;
      }
      if (m->token == token) {
        d.buffer([&](Mailboxes& boxes) {
          own.assign(boxes[token].begin(), boxes[token].end());
          boxes[token].clear();
        });
        own.push_back(m->seq);
        return true;
      }
      w.at("heading: routing to a mailbox");
      d.buffer([&](Mailboxes& boxes) { boxes[m->token].push_back(m->seq); });
      d.notify(m->token);  // false while its owner renews its ticket: it looks again anyway
      routed_.fetch_add(1, std::memory_order_relaxed);
      if (rng.one_in(256)) throw HeadHiccup{};  // what it read is routed: nothing to lose
    }
    if (rng.one_in(64)) throw HeadHiccup{};  // everything read was routed
    return false;
  }

  void work(Worker& w, unsigned token) {
    std::uint64_t expected = 0;
    std::vector<std::uint64_t> got;
    for (bool renew = true; renew;) {
      std::optional<MessageStage::Ticket> ticket = stage_->ticket(token);
      if (!ticket) {
        // The previous ticket of this token was destroyed before: S6 says it is free again.
        fail(format("ticket(%u) refused although no live ticket holds it", token));
        return;
      }
      renew = serve(w, token, *ticket, expected, got);
      if (renew) renewed_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Worker `token`'s loop with one ticket. Returns true to renew the ticket, false when every
  // message sent to `token` was delivered.
  bool serve(Worker& w, unsigned token, MessageStage::Ticket& ticket, std::uint64_t& expected,
             std::vector<std::uint64_t>& got) {
    Rng& rng = w.rng();
    for (;;) {
      // Register (the ticket), then look in the mailbox, then enter: a notify sent meanwhile
      // is kept by the ticket (S2).
      w.at("Stage::buffer (mailbox)");
      take_mailbox(token, got);
      deliver(w, token, expected, got);
      if (!got.empty()) continue;
      // acquire: pairs with the feeder's release; `sent` is final once it is done.
      if (feeder_done_.load(std::memory_order_acquire) &&
          books_[token].delivered.load(std::memory_order_relaxed) ==
              books_[token].sent.load(std::memory_order_acquire)) {
        return false;
      }
      if (rng.one_in(256)) {
        w.at("renewing the ticket");
        return true;
      }
      w.at("Stage::enter_for");
      try {
        auto exit = stage_->enter_for(ticket, rng.timeout(5000), [&](MessageStage::Director& d) {
          return head(d, token, w, got);
        });
        using E = decltype(exit);
        switch (exit.kind()) {
          case E::Finished:
            heads_.fetch_add(1, std::memory_order_relaxed);
            if (exit.value()) deliver(w, token, expected, got);
            break;
          case E::Notified:
            notified_.fetch_add(1, std::memory_order_relaxed);
            break;
          case E::TimedOut:
            timeouts_.fetch_add(1, std::memory_order_relaxed);
            break;
        }
      } catch (const HeadHiccup&) {
        throws_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  unsigned tokens_ = 0;
  Wire wire_;
  Semaphore credits_{kCredits, kCredits};
  std::unique_ptr<MessageStage> stage_;
  std::unique_ptr<Books[]> books_;
  std::atomic<bool> feeder_done_{false};
  std::atomic<std::uint64_t> heads_{0}, routed_{0}, notified_{0}, timeouts_{0}, throws_{0};
  std::atomic<std::uint64_t> renewed_{0};
};

}  // namespace

std::unique_ptr<Scenario> make_stage(const Options& o, Failures& f) {
  return std::make_unique<StageScenario>(o, f);
}

}  // namespace exitleft::soak
