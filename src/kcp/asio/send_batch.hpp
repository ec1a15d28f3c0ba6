// Many datagrams per system call where the platform has sendmmsg (Linux), as kcp-go's
// tx_linux.go (WriteBatch); one send per datagram elsewhere.

#ifndef SMUX_SRC_KCP_ASIO_SEND_BATCH_HPP
#define SMUX_SRC_KCP_ASIO_SEND_BATCH_HPP

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include <asio/ip/udp.hpp>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/mtu.hpp"

#if defined(__linux__)
#include <sys/socket.h>
#endif

namespace smux::kcp::detail {

/** Datagrams queued during one turn on the strand (a flush of the engine, the acks for a batch
    of input) and sent together. Each is copied: the engine reuses its output buffer. The
    socket is non-blocking, so a datagram the kernel refuses is dropped and counted (KCP
    resends it), as a single send would. */
class send_batch {
  public:
    static constexpr std::size_t capacity = 32;
    using endpoint_type = net::ip::udp::endpoint;

    send_batch() : buffers_(capacity * mtu_limit) {}

    [[nodiscard]] bool full() const noexcept { return count_ == capacity; }

    /** Queues `datagram` (at most mtu_limit bytes) for `to`, or for the connected peer when
        `to` is null. `dropped` counts it if the kernel refuses it; it must stay valid until
        the next `flush`. The batch must not be full. */
    void add(std::span<std::byte const> datagram, endpoint_type const* to,
             std::uint64_t& dropped) noexcept {
        std::size_t const n = std::min(datagram.size(), mtu_limit);
        std::memcpy(slot(count_).data(), datagram.data(), n);
        sizes_[count_] = n;
        has_destination_[count_] = to != nullptr;
        if (to != nullptr) {
            destinations_[count_] = *to;
        }
        dropped_[count_] = &dropped;
        ++count_;
    }

    /// Sends what is queued; empties the batch.
    void flush(net::ip::udp::socket& s) noexcept {
        std::size_t at = 0;
        while (at < count_) {
            int const sent = send_from(s, at);
            if (sent > 0) {
                at += static_cast<std::size_t>(sent);
                continue;
            }
            // The datagram at `at` failed. A full socket buffer refuses the rest as well; any
            // other error (an ICMP report, a bad address) is that datagram's alone.
            int const why = sent < 0 ? errno : 0;
            if (why == EINTR) {
                continue;
            }
            bool const buffer_full = why == EAGAIN || why == EWOULDBLOCK || why == ENOBUFS;
            std::size_t const end = buffer_full ? count_ : at + 1;
            for (; at < end; ++at) {
                ++*dropped_[at];
            }
        }
        count_ = 0;
    }

  private:
    std::span<std::byte> slot(std::size_t i) noexcept {
        return std::span(buffers_).subspan(i * mtu_limit, mtu_limit);
    }

    /// Datagrams sent from index `at` on, or -1 with errno set.
    int send_from(net::ip::udp::socket& s, std::size_t at) noexcept {
#if defined(__linux__)
        std::array<mmsghdr, capacity> msgs{};
        std::array<iovec, capacity> iov{};
        std::size_t const n = count_ - at;
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t const k = at + i;
            iov[i] = {slot(k).data(), sizes_[k]};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            if (has_destination_[k]) {
                msgs[i].msg_hdr.msg_name = destinations_[k].data();
                msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(destinations_[k].size());
            }
        }
        return ::sendmmsg(s.native_handle(), msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
#else
        std::error_code ec;
        auto const buffer = net::buffer(slot(at).data(), sizes_[at]);
        if (has_destination_[at]) {
            s.send_to(buffer, destinations_[at], 0, ec);
        } else {
            s.send(buffer, 0, ec);
        }
        if (ec) {
            errno = ec == net::error::would_block ? EAGAIN : EIO;
            return -1;
        }
        return 1;
#endif
    }

    std::vector<std::byte> buffers_;
    std::size_t count_ = 0;
    std::array<std::size_t, capacity> sizes_{};
    std::array<bool, capacity> has_destination_{};
    std::array<endpoint_type, capacity> destinations_{};
    std::array<std::uint64_t*, capacity> dropped_{};
};

}  // namespace smux::kcp::detail

#endif
