// kcp-go's FindPeriod (autotune.go), same scan order, so that both sides of a mismatch settle
// on the same guess kcp-go would.

#include "smux/kcp/fec_autotune.hpp"

namespace smux::kcp {

int fec_autotune::find_period(bool data) const noexcept {
    // Left edge: the first change to `data` between consecutive seqids. None leaves 0, so a
    // run starting at the ring's first slot still counts (as in kcp-go).
    std::size_t left = 0;
    for (std::size_t i = 1; i < samples; ++i) {
        pulse const& last = pulses_[i - 1];
        if (last.data != data && pulses_[i].data == data && last.seqid + 1 == pulses_[i].seqid) {
            left = i;
            break;
        }
    }
    // Right edge: the run must go on over consecutive seqids until the flag changes back.
    std::size_t right = 0;
    for (std::size_t i = left + 1; i < samples; ++i) {
        pulse const& last = pulses_[i - 1];
        if (last.seqid + 1 != pulses_[i].seqid) {
            return -1;
        }
        if (last.data == data && pulses_[i].data != data) {
            right = i;
            break;
        }
    }
    return static_cast<int>(right) - static_cast<int>(left);
}

}  // namespace smux::kcp
