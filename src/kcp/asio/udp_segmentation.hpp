// UDP segmentation offload (Linux UDP_SEGMENT, "UDP GSO"): one send carries a run of datagrams
// of one size to one destination, and the kernel cuts it into those datagrams after routing,
// filtering and socket accounting, paid once per run instead of once per datagram. The
// receiver sees ordinary datagrams.

#ifndef SMUX_SRC_KCP_ASIO_UDP_SEGMENTATION_HPP
#define SMUX_SRC_KCP_ASIO_UDP_SEGMENTATION_HPP

#include <cstddef>
#include <span>

#if defined(__linux__)
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#endif

namespace smux::kcp::detail {

/// Datagrams one segmented send may carry: the kernel's UDP_MAX_SEGMENTS of older kernels.
inline constexpr std::size_t max_segments = 64;
/// Bytes one segmented send may carry: an IPv4 UDP payload's limit, the smaller one.
inline constexpr std::size_t max_segmented_bytes = 65507;

/** How many datagrams from `sizes[0]` on one segmented send can carry: all of `sizes[0]`'s
    size, except that the last may be shorter (the kernel's rule), while `same_destination(i)`
    holds for each datagram i after the first, within max_segments and max_segmented_bytes.
    At least 1; 1 for an empty datagram (an empty segment cannot be cut). */
template <class SameDestination>
[[nodiscard]] std::size_t segment_run(std::span<std::size_t const> sizes,
                                      SameDestination const& same_destination) {
    if (sizes.empty() || sizes[0] == 0) {
        return 1;
    }
    std::size_t const segment = sizes[0];
    std::size_t total = segment;
    std::size_t n = 1;
    while (n < sizes.size() && n < max_segments && sizes[n] != 0 && sizes[n] <= segment &&
           total + sizes[n] <= max_segmented_bytes && same_destination(n)) {
        total += sizes[n];
        ++n;
        if (sizes[n - 1] < segment) {
            break;  // a shorter datagram ends the run
        }
    }
    return n;
}

/// True when the socket's kernel offers UDP_SEGMENT. Kernels before 4.18 ignore the control
/// message, which would send a run as one large datagram, so it is asked first.
[[nodiscard]] inline bool udp_segmentation_available(int fd) noexcept {
#if defined(__linux__) && defined(UDP_SEGMENT)
    int value = 0;
    socklen_t len = sizeof value;
    return ::getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &value, &len) == 0;
#else
    (void)fd;
    return false;
#endif
}

}  // namespace smux::kcp::detail

#endif
