// Many datagrams per system call where the platform has sendmmsg (Linux), as kcp-go's
// tx_linux.go (WriteBatch), and runs of equal-sized datagrams to one destination as one
// segmented send where the kernel offers UDP_SEGMENT; one send per datagram elsewhere.

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
#include "udp_segmentation.hpp"

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
        if (segmentation_ == offload::unknown) {
            segmentation_ =
                udp_segmentation_available(s.native_handle()) ? offload::on : offload::off;
        }
        std::size_t at = 0;
        std::size_t plain_until = 0;  // datagrams before this index go one per message
        while (at < count_) {
            attempt const a = send_from(s, at, at >= plain_until);
            if (a.sent > 0) {
                at += a.sent;
                continue;
            }
            // The message at `at` failed. A full socket buffer refuses the rest as well; any
            // other error (an ICMP report, a bad address) is that datagram's alone.
            if (a.error == EINTR) {
                continue;
            }
            bool const buffer_full =
                a.error == EAGAIN || a.error == EWOULDBLOCK || a.error == ENOBUFS;
            if (!buffer_full && a.failed_run > 1) {
                // A segmented send the route cannot take (EIO: no checksum offload on the way
                // out; EINVAL, EMSGSIZE: a segment above the path MTU) stops segmentation on
                // this socket; another error is retried one datagram per message, where it
                // lands on one datagram as without segmentation.
                if (a.error == EIO || a.error == EINVAL || a.error == EMSGSIZE) {
                    segmentation_ = offload::off;
                }
                plain_until = at + a.failed_run;
                continue;
            }
            std::size_t const end = buffer_full ? count_ : at + 1;
            for (; at < end; ++at) {
                ++*dropped_[at];
            }
        }
        count_ = 0;
    }

  private:
    enum class offload : std::uint8_t { unknown, on, off };

    /// Datagrams sent from `at` on; when none, the error and the datagrams of the message that
    /// failed.
    struct attempt {
        std::size_t sent = 0;
        int error = 0;
        std::size_t failed_run = 1;
    };

    std::span<std::byte> slot(std::size_t i) noexcept {
        return std::span(buffers_).subspan(i * mtu_limit, mtu_limit);
    }

    [[nodiscard]] bool same_destination(std::size_t a, std::size_t b) const noexcept {
        return has_destination_[a] == has_destination_[b] &&
               (!has_destination_[a] || destinations_[a] == destinations_[b]);
    }

    attempt send_from(net::ip::udp::socket& s, std::size_t at, bool may_segment) noexcept {
#if defined(__linux__)
        std::array<mmsghdr, capacity> msgs{};
        std::array<iovec, capacity> iov{};
        std::array<std::size_t, capacity> runs{};
        std::size_t m = 0;
        for (std::size_t k = at; k < count_; ++m) {
            std::size_t run = 1;
            if (may_segment && segmentation_ == offload::on) {
                run = segment_run(std::span(sizes_).subspan(k, count_ - k),
                                  [&](std::size_t i) { return same_destination(k, k + i); });
            }
            for (std::size_t i = 0; i < run; ++i) {
                iov[k - at + i] = {slot(k + i).data(), sizes_[k + i]};
            }
            auto& h = msgs[m].msg_hdr;
            h.msg_iov = &iov[k - at];
            h.msg_iovlen = run;
            if (has_destination_[k]) {
                h.msg_name = destinations_[k].data();
                h.msg_namelen = static_cast<socklen_t>(destinations_[k].size());
            }
            if (run > 1) {
                set_segment_size(m, h, sizes_[k]);
            }
            runs[m] = run;
            k += run;
        }
        int const sent =
            ::sendmmsg(s.native_handle(), msgs.data(), static_cast<unsigned>(m), MSG_DONTWAIT);
        if (sent <= 0) {
            return {0, sent < 0 ? errno : 0, runs[0]};
        }
        attempt a;
        for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
            a.sent += runs[i];
        }
        return a;
#else
        (void)may_segment;
        std::error_code ec;
        auto const buffer = net::buffer(slot(at).data(), sizes_[at]);
        if (has_destination_[at]) {
            s.send_to(buffer, destinations_[at], 0, ec);
        } else {
            s.send(buffer, 0, ec);
        }
        if (ec) {
            return {0, ec == net::error::would_block ? EAGAIN : EIO, 1};
        }
        return {1, 0, 1};
#endif
    }

#if defined(__linux__) && defined(UDP_SEGMENT)
    /// Message `m` carries a run: the kernel cuts it every `segment` bytes.
    void set_segment_size(std::size_t m, msghdr& h, std::size_t segment) noexcept {
        auto& control = controls_[m];
        std::memset(control.bytes, 0, sizeof control.bytes);
        h.msg_control = control.bytes;
        h.msg_controllen = sizeof control.bytes;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        auto const size = static_cast<std::uint16_t>(segment);
        std::memcpy(CMSG_DATA(c), &size, sizeof size);
    }

    struct segment_control {
        alignas(cmsghdr) unsigned char bytes[CMSG_SPACE(sizeof(std::uint16_t))];
    };
    std::array<segment_control, capacity> controls_{};
#else
    void set_segment_size(std::size_t, auto&, std::size_t) noexcept {}
#endif

    std::vector<std::byte> buffers_;
    std::size_t count_ = 0;
    std::array<std::size_t, capacity> sizes_{};
    std::array<bool, capacity> has_destination_{};
    std::array<endpoint_type, capacity> destinations_{};
    std::array<std::uint64_t*, capacity> dropped_{};
    offload segmentation_ = offload::unknown;
};

}  // namespace smux::kcp::detail

#endif
