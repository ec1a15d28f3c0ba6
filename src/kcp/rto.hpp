#ifndef SMUX_SRC_KCP_RTO_HPP
#define SMUX_SRC_KCP_RTO_HPP

#include <algorithm>
#include <cstdint>

#include "wrap.hpp"

namespace smux::kcp::detail {

inline constexpr std::uint32_t rto_nodelay_min = 30;  // IKCP_RTO_NDL
inline constexpr std::uint32_t rto_normal_min = 100;  // IKCP_RTO_MIN
inline constexpr std::uint32_t rto_initial = 200;     // IKCP_RTO_DEF
inline constexpr std::uint32_t rto_max = 60000;       // IKCP_RTO_MAX

/** kcp-go's RTT filter (kcp.go update_ack, KCP.md §4): RFC 6298 with a smaller rttvar gain
    for samples below srtt - rttvar. Arithmetic wraps as Go's int32 does, so a hostile echoed
    ts cannot cause undefined behaviour; the result is clamped to [min_rto, 60000] anyway. */
struct rtt_estimator {
    std::int32_t srtt = 0;
    std::int32_t rttvar = 0;
    std::uint32_t rto = rto_initial;
    std::uint32_t min_rto = rto_normal_min;

    void sample(std::int32_t rtt, std::uint32_t interval) noexcept {
        if (srtt == 0) {  // kcp-go takes srtt 0 as "no sample yet", even after a 0 ms sample
            srtt = rtt;
            rttvar = rtt >> 1;
        } else {
            std::int32_t delta = wrap_sub(rtt, srtt);
            srtt = wrap_add(srtt, delta >> 3);
            if (delta < 0) {
                delta = wrap_sub(0, delta);
            }
            int const shift = rtt < wrap_sub(srtt, rttvar) ? 5 : 2;
            rttvar = wrap_add(rttvar, wrap_sub(delta, rttvar) >> shift);
        }
        std::uint32_t const var4 = static_cast<std::uint32_t>(rttvar) << 2U;
        std::uint32_t const raw = static_cast<std::uint32_t>(srtt) + std::max(interval, var4);
        rto = std::min(std::max(min_rto, raw), rto_max);
    }
};

}  // namespace smux::kcp::detail

#endif
