// UdpSocket on POSIX sockets: the only file of the tool that makes system calls (and asks
// isatty()). On Linux batches
// go through recvmmsg / sendmmsg (one system call per batch) and drops are read with SO_MEMINFO;
// elsewhere a batch is a loop of recvfrom / send.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tools/udp_demux/udp_socket.hpp"

#ifdef __linux__
#include <linux/sock_diag.h>  // SK_MEMINFO_*
#endif

namespace exitleft::udp_demux {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_in to_sockaddr(const Endpoint& e) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(e.ip);
  a.sin_port = htons(e.port);
  return a;
}

Endpoint from_sockaddr(const sockaddr_in& a) {
  return Endpoint{ntohl(a.sin_addr.s_addr), ntohs(a.sin_port)};
}

constexpr std::uint32_t kLoopbackNet = 0x7F000000;  // 127.0.0.0/8
constexpr std::uint32_t kLoopbackMask = 0xFF000000;

}  // namespace

// ---- Batch -------------------------------------------------------------------------------------

struct Batch::Os {
  std::vector<iovec> iov;
  std::vector<sockaddr_in> addr;
#ifdef __linux__
  std::vector<mmsghdr> msgs;
#endif
};

Batch::Batch(std::size_t capacity)
    : capacity_(capacity), slots_(new Slot[capacity]), os_(new Os, [](Os* os) { delete os; }) {
  if (capacity == 0) throw std::invalid_argument("udp_demux::Batch: capacity 0");
  os_->iov.resize(capacity);
  os_->addr.resize(capacity);
  for (std::size_t i = 0; i < capacity; ++i) {
    os_->iov[i].iov_base = slots_[i].data.data();
    os_->iov[i].iov_len = slots_[i].data.size();
  }
#ifdef __linux__
  os_->msgs.resize(capacity);
#endif
}
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;
Batch::~Batch() = default;

// ---- UdpSocket ---------------------------------------------------------------------------------

UdpSocket UdpSocket::bind_loopback() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw_errno("socket");
  UdpSocket s(fd);
  const sockaddr_in a = to_sockaddr(Endpoint{kLoopbackNet | 1, 0});
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) throw_errno("bind");
  return s;
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}
UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Endpoint UdpSocket::local_endpoint() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) throw_errno("getsockname");
  return from_sockaddr(a);
}

void UdpSocket::connect(const Endpoint& peer) {
  if ((peer.ip & kLoopbackMask) != kLoopbackNet) {
    throw std::invalid_argument("udp_demux: only loopback addresses (127.0.0.0/8), not " +
                                to_string(peer));
  }
  const sockaddr_in a = to_sockaddr(peer);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) throw_errno("connect");
}

std::size_t UdpSocket::set_receive_buffer(std::size_t bytes) {
  const int want = static_cast<int>(std::min<std::size_t>(bytes, 1u << 30));
  bool done = false;
#ifdef SO_RCVBUFFORCE
  // Past net.core.rmem_max; needs CAP_NET_ADMIN, and falls back to SO_RCVBUF without it.
  done = ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0;
#endif
  if (!done && ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
    throw_errno("setsockopt(SO_RCVBUF)");
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (::getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) throw_errno("getsockopt");
  // Linux reports twice what it was asked for (room for its bookkeeping) and counts every
  // datagram's whole buffer (its "truesize") against that figure; that is the number returned.
  return static_cast<std::size_t>(got);
}

void UdpSocket::set_receive_timeout(std::chrono::microseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(timeout.count() / 1000000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(timeout.count() % 1000000);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    throw_errno("setsockopt(SO_RCVTIMEO)");
  }
}

void UdpSocket::send(Batch& batch, std::size_t count) {
  if (count > batch.capacity()) throw std::invalid_argument("udp_demux::UdpSocket::send: count");
  std::size_t sent = 0;
  while (sent < count) {
#ifdef __linux__
    for (std::size_t i = sent; i < count; ++i) {
      batch.os_->iov[i].iov_len = batch.slots_[i].length;
      msghdr& h = batch.os_->msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_iov = &batch.os_->iov[i];
      h.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(fd_, &batch.os_->msgs[sent], static_cast<unsigned>(count - sent), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("sendmmsg");
    }
    sent += static_cast<std::size_t>(n);
#else
    const Batch::Slot& slot = batch.slots_[sent];
    if (::send(fd_, slot.data.data(), slot.length, 0) < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    ++sent;
#endif
  }
}

std::size_t UdpSocket::receive(Batch& batch) {
  Batch::Os& os = *batch.os_;
  std::size_t n = 0;
#ifdef __linux__
  for (std::size_t i = 0; i < batch.capacity(); ++i) {
    os.iov[i].iov_len = Batch::kMaxDatagram;
    msghdr& h = os.msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &os.addr[i];
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &os.iov[i];
    h.msg_iovlen = 1;
  }
  for (;;) {
    // MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram only.
    const int r = ::recvmmsg(fd_, os.msgs.data(), static_cast<unsigned>(batch.capacity()),
                             MSG_WAITFORONE, nullptr);
    if (r >= 0) {
      n = static_cast<std::size_t>(r);
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno != EINTR) throw_errno("recvmmsg");
  }
  for (std::size_t i = 0; i < n; ++i) {
    batch.slots_[i].length = os.msgs[i].msg_len;
    batch.slots_[i].from = from_sockaddr(os.addr[i]);
  }
#else
  while (n < batch.capacity()) {
    socklen_t len = sizeof(sockaddr_in);
    const ssize_t r =
        ::recvfrom(fd_, batch.slots_[n].data.data(), Batch::kMaxDatagram, n == 0 ? 0 : MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&os.addr[n]), &len);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      throw_errno("recvfrom");
    }
    batch.slots_[n].length = static_cast<std::uint32_t>(r);
    batch.slots_[n].from = from_sockaddr(os.addr[n]);
    ++n;
  }
#endif
  return n;
}

std::int64_t UdpSocket::kernel_drops() const {
#if defined(__linux__) && defined(SO_MEMINFO)
  std::uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
      len > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
    return mem[SK_MEMINFO_DROPS];
  }
#endif
  return -1;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

std::string to_string(const Endpoint& e) {
  return std::to_string(e.ip >> 24) + "." + std::to_string((e.ip >> 16) & 0xFF) + "." +
         std::to_string((e.ip >> 8) & 0xFF) + "." + std::to_string(e.ip & 0xFF) + ":" +
         std::to_string(e.port);
}

}  // namespace exitleft::udp_demux
