// The one hash of keys (addresses, token hashes) that picks a bucket, a shard or a group word:
// Fibonacci hashing, the top `bits` bits of key * 2^64/phi. The low bits of an aligned address
// carry little information; the multiplication moves every bit of the key into the top ones.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exitleft::detail {

// The top `bits` bits (0-64) of the mixed key: an index below 2^bits.
constexpr std::size_t key_hash(std::uint64_t key, unsigned bits) noexcept {
  if (bits == 0) return 0;
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

inline std::size_t key_hash(const void* address, unsigned bits) noexcept {
  return key_hash(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(address)), bits);
}

}  // namespace exitleft::detail
