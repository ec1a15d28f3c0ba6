#ifndef SMUX_KCP_ENCRYPT_QUEUE_HPP
#define SMUX_KCP_ENCRYPT_QUEUE_HPP

#include <cstddef>
#include <span>
#include <vector>

#include "smux/kcp/crypt.hpp"
#include "smux/kcp/engine.hpp"
#include "smux/kcp/export.hpp"

namespace smux::kcp {

/** Sealed datagrams (nonce and CRC in place) waiting for encryption, so that a cipher with
    several `lanes` encrypts that many side by side. Each is copied in; they leave encrypted,
    in the order they came, when the queue is full (`push`) and when the caller's turn ends
    (`drain`). Not thread-safe. */
class SMUX_KCP_EXPORT encrypt_queue {
  public:
    /// Holds up to `lanes` datagrams of at most mtu_limit bytes.
    explicit encrypt_queue(std::size_t lanes);

    /// Queues `datagram`; when that fills the queue, encrypts everything with `c` and hands
    /// it to `out`. A datagram above mtu_limit goes out at once, after what is queued.
    void push(block_crypt& c, std::span<std::byte const> datagram, datagram_sink out);
    /// Encrypts what is queued with `c` and hands it to `out`.
    void drain(block_crypt& c, datagram_sink out);

  private:
    [[nodiscard]] std::span<std::byte> slot(std::size_t i) noexcept;

    std::size_t lanes_;
    std::vector<std::byte> buffer_;
    std::vector<std::span<std::byte>> queued_;
};

}  // namespace smux::kcp

#endif
