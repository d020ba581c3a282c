// The UDP sockets of exitleft-udp-demux, behind an interface with no OS types in it: every
// system call of the tool is in udp_socket_posix.cpp, so the rest of the tool is portable.
//
// Only loopback: bind_loopback() binds 127.0.0.1 with an ephemeral port, and connect() refuses an
// address outside 127.0.0.0/8. Datagrams move in batches (recvmmsg / sendmmsg on Linux, a loop
// of single calls elsewhere). Errors throw std::system_error.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace exitleft::udp_demux {

// An IPv4 address and port, in host byte order.
struct Endpoint {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointHash {
  std::size_t operator()(const Endpoint& e) const noexcept {
    const std::uint64_t key = (std::uint64_t{e.ip} << 16) | e.port;
    return static_cast<std::size_t>(key * 0x9E3779B97F4A7C15ull ^ (key >> 29));
  }
};

// A batch of datagrams of at most kMaxDatagram bytes each: filled by UdpSocket::receive(), or
// filled by the caller and sent with UdpSocket::send(). Allocates once, in the constructor.
class Batch {
 public:
  static constexpr std::size_t kMaxDatagram = 64;
  struct Slot {
    Endpoint from;             // the sender (receive only)
    std::uint32_t length = 0;  // bytes in data
    alignas(8) std::array<std::byte, kMaxDatagram> data{};
  };

  explicit Batch(std::size_t capacity);
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  ~Batch();

  std::size_t capacity() const noexcept { return capacity_; }
  Slot& operator[](std::size_t i) noexcept { return slots_[i]; }
  const Slot& operator[](std::size_t i) const noexcept { return slots_[i]; }

 private:
  friend class UdpSocket;
  struct Os;  // the OS's message headers, pointing into slots_ (udp_socket_posix.cpp)
  std::size_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<Os, void (*)(Os*)> os_;
};

class UdpSocket {
 public:
  // A UDP socket bound to 127.0.0.1 on an ephemeral port.
  static UdpSocket bind_loopback();

  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  Endpoint local_endpoint() const;
  // Sends go to `peer` and only datagrams from `peer` are received. Loopback only.
  void connect(const Endpoint& peer);
  // Asks for a receive buffer of `bytes` (forcing past the system limit where privileges allow)
  // and returns the number of bytes of datagram memory the kernel will actually queue.
  std::size_t set_receive_buffer(std::size_t bytes);
  // receive() returns 0 when no datagram arrived for this long.
  void set_receive_timeout(std::chrono::microseconds timeout);

  // Sends batch[0, count) on the connected socket; returns when all are sent.
  void send(Batch& batch, std::size_t count);
  // Waits for at least one datagram (up to the receive timeout), then takes what is queued, up to
  // the batch's capacity, without waiting further. Returns how many (0: timed out).
  std::size_t receive(Batch& batch);

  // Datagrams the kernel dropped on this socket because its receive buffer was full; -1 where
  // the system cannot tell.
  std::int64_t kernel_drops() const;

 private:
  explicit UdpSocket(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

// Address and port as "127.0.0.1:5000".
std::string to_string(const Endpoint& e);

// The one other question the tool asks the OS: is standard error a terminal (for the live
// progress line)?
bool stderr_is_terminal();

}  // namespace exitleft::udp_demux
