#ifndef SMUX_KCP_FEC_AUTOTUNE_HPP
#define SMUX_KCP_FEC_AUTOTUNE_HPP

#include <array>
#include <cstddef>
#include <cstdint>

#include "smux/kcp/export.hpp"

namespace smux::kcp {

/** kcp-go's autoTune (autotune.go): the flags of recent seqids, from which a receiver guesses
    the sender's data and parity counts. kcp-go's decoder asks it only when a shard's flag
    contradicts the position its seqid has under the current parameters. */
class SMUX_KCP_EXPORT fec_autotune {
  public:
    /// Ring size: seqid s lands at s mod 258.
    static constexpr std::size_t samples = 258;

    /// Records that `seqid` carried a data (true) or parity (false) flag.
    void sample(bool data, std::uint32_t seqid) noexcept {
        pulses_[seqid % samples] = pulse{.data = data, .seqid = seqid};
    }

    /** kcp-go's FindPeriod: the length of the first run of `data` flags in the ring that has
        a flag change on both sides, over consecutive seqids. 0 or less when there is none
        (kcp-go's -1 and its negative leftovers alike). */
    [[nodiscard]] int find_period(bool data) const noexcept;

  private:
    struct pulse {
        bool data = false;
        std::uint32_t seqid = 0;
    };
    std::array<pulse, samples> pulses_{};
};

}  // namespace smux::kcp

#endif
