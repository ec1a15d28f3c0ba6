// Many datagrams per system call where the platform has recvmmsg (Linux), as kcp-go's
// readloop_linux.go (ReadBatch); one receive_from per datagram elsewhere.

#ifndef SMUX_SRC_KCP_ASIO_RECEIVE_BATCH_HPP
#define SMUX_SRC_KCP_ASIO_RECEIVE_BATCH_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

#include <asio/ip/udp.hpp>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/engine.hpp"

#if defined(__linux__)
#include <sys/socket.h>
#endif

namespace smux::kcp::detail {

/** Reads the datagrams waiting on a non-blocking UDP socket, up to `capacity` at a time,
    without waiting. Buffers of mtu_limit bytes: longer datagrams arrive truncated (and then
    fail the CRC), as with kcp-go's 1500-byte reads. */
class receive_batch {
  public:
    static constexpr std::size_t capacity = 32;
    using endpoint_type = net::ip::udp::endpoint;

    receive_batch() : buffers_(capacity * mtu_limit) {}

    /// Datagrams read now (0 when none waits or on an error).
    std::size_t receive(net::ip::udp::socket& s) {
#if defined(__linux__)
        std::array<mmsghdr, capacity> msgs{};
        std::array<iovec, capacity> iov{};
        for (std::size_t i = 0; i < capacity; ++i) {
            iov[i] = {buffers_.data() + i * mtu_limit, mtu_limit};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = senders_[i].data();
            msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(senders_[i].capacity());
        }
        int const n = ::recvmmsg(s.native_handle(), msgs.data(), capacity, MSG_DONTWAIT, nullptr);
        if (n <= 0) {
            return 0;
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            senders_[i].resize(msgs[i].msg_hdr.msg_namelen);
            sizes_[i] = std::min<std::size_t>(msgs[i].msg_len, mtu_limit);
        }
        return static_cast<std::size_t>(n);
#else
        std::size_t n = 0;
        std::error_code ec;
        for (; n < capacity; ++n) {
            sizes_[n] = s.receive_from(net::buffer(buffers_.data() + n * mtu_limit, mtu_limit),
                                       senders_[n], 0, ec);
            if (ec) {
                break;
            }
        }
        return n;
#endif
    }

    [[nodiscard]] std::span<std::byte> datagram(std::size_t i) noexcept {
        return std::span(buffers_).subspan(i * mtu_limit, sizes_[i]);
    }
    [[nodiscard]] endpoint_type const& sender(std::size_t i) const noexcept {
        return senders_[i];
    }

  private:
    std::vector<std::byte> buffers_;
    std::array<std::size_t, capacity> sizes_{};
    std::array<endpoint_type, capacity> senders_{};
};

}  // namespace smux::kcp::detail

#endif
