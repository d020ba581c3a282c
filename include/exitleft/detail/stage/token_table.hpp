// Stage's token table: which ticket (seat) holds which token. 16 shards, each a chained hash
// table behind its own lot-based lock, held only for an insert, a lookup or an erase.
//
// Seat must have `const Token token`, `const std::size_t hash` and `Seat* chain` (the bucket
// chain, guarded by the shard lock). The table owns the seats it holds: erase() and the
// destructor delete them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "exitleft/detail/key_hash.hpp"
#include "exitleft/detail/lot/lot_mutex.hpp"

namespace exitleft::detail {

template <class Seat, class Token, class KeyEqual>
class TokenTable {
 public:
  TokenTable() = default;
  TokenTable(const TokenTable&) = delete;
  TokenTable& operator=(const TokenTable&) = delete;
  ~TokenTable() {
    for (Shard& shard : shards_) {
      for (Seat* head : shard.buckets) {
        for (Seat* s = head; s != nullptr;) delete std::exchange(s, s->chain);
      }
    }
  }

  // Takes `seat` in, unless a seat with an equal token is there: then returns nullptr and
  // `seat` is destroyed with the unique_ptr.
  Seat* insert(std::unique_ptr<Seat> seat) {
    Shard& shard = shard_for(seat->hash);
    for (;;) {
      std::size_t wanted;
      {
        LotGuard<LotMutex> guard(shard.lock);
        if (find(shard, seat->token, seat->hash) != nullptr) return nullptr;
        if (shard.size < 2 * shard.buckets.size()) {  // load factor <= 2
          Seat*& chain = shard.buckets[seat->hash & (shard.buckets.size() - 1)];
          seat->chain = chain;
          chain = seat.get();
          ++shard.size;
          return seat.release();
        }
        wanted = 2 * shard.buckets.size();
      }
      // Grow: allocate outside the lock, then move the chains over under it.
      std::vector<Seat*> bigger(wanted, nullptr);
      LotGuard<LotMutex> guard(shard.lock);
      if (shard.buckets.size() < wanted) {
        for (Seat* head : shard.buckets) {
          for (Seat* s = head; s != nullptr;) {
            Seat* next = s->chain;
            Seat*& chain = bigger[s->hash & (wanted - 1)];
            s->chain = chain;
            chain = s;
            s = next;
          }
        }
        shard.buckets.swap(bigger);  // the old array is freed after the unlock, with `bigger`
      }
    }
  }

  // Runs f(Seat*) under the shard lock of `token` (nullptr: no seat holds it) and returns its
  // result. While f runs the seat it gets is in the table.
  template <class F>
  decltype(auto) with(const Token& token, std::size_t hash, F&& f) {
    Shard& shard = shard_for(hash);
    LotGuard<LotMutex> guard(shard.lock);
    return std::forward<F>(f)(find(shard, token, hash));
  }

  // Removes `seat` by identity, never by token (a later seat with an equal token stays), and
  // deletes it.
  void erase(Seat* seat) noexcept {
    Shard& shard = shard_for(seat->hash);
    {
      LotGuard<LotMutex> guard(shard.lock);
      for (Seat** link = &shard.buckets[seat->hash & (shard.buckets.size() - 1)]; *link != nullptr;
           link = &(*link)->chain) {
        if (*link == seat) {
          *link = seat->chain;
          --shard.size;
          break;
        }
      }
    }
    delete seat;
  }

 private:
  struct alignas(64) Shard {
    Shard() : buckets(8, nullptr) {}
    LotMutex lock;
    std::vector<Seat*> buckets;  // a power of two
    std::size_t size = 0;
  };
  static constexpr std::size_t kShards = 16;

  Shard& shard_for(std::size_t h) noexcept {
    // The mixed top bits pick the shard, the low bits the bucket.
    static_assert(kShards == 16);
    return shards_[key_hash(static_cast<std::uint64_t>(h), 4)];
  }
  static Seat* find(Shard& shard, const Token& token, std::size_t h) {
    for (Seat* s = shard.buckets[h & (shard.buckets.size() - 1)]; s != nullptr; s = s->chain) {
      if (s->hash == h && KeyEqual{}(s->token, token)) return s;
    }
    return nullptr;
  }

  Shard shards_[kShards];
};

}  // namespace exitleft::detail
