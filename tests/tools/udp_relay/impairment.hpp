#ifndef SMUX_UDP_RELAY_IMPAIRMENT_HPP
#define SMUX_UDP_RELAY_IMPAIRMENT_HPP

// What happens to one direction's datagrams: dropped, duplicated, delayed (which reorders
// them when the jitter is wider than their spacing), held back, rate limited. The decisions
// come from a seeded PRNG that draws the same number of values for every datagram, so a seed
// and a sequence of datagrams give the same decisions whatever the timing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>

namespace udp_relay {

using clock = std::chrono::steady_clock;

/// One direction's settings (the command line's values for it).
struct impairment {
    double loss = 0;         ///< probability a datagram is dropped
    double duplicate = 0;    ///< probability a forwarded datagram is sent twice
    double reorder = 0;      ///< probability a datagram is held back by `reorder_ms` more
    double delay_ms = 0;     ///< fixed delay
    double jitter_ms = 0;    ///< uniform extra delay in [0, jitter_ms), per copy
    double reorder_ms = 20;  ///< the hold-back of a reordered datagram
    double rate = 0;         ///< bytes per second through this direction; 0 = unlimited

    /// True when every datagram goes out at once, untouched but for drops and duplicates.
    [[nodiscard]] bool immediate() const noexcept {
        return delay_ms == 0 && jitter_ms == 0 && reorder == 0 && rate == 0;
    }
};

/// The fate of one datagram: how many copies go out and when.
struct verdict {
    int copies = 0;  ///< 0 (dropped), 1, or 2 (duplicated)
    bool reordered = false;
    clock::time_point at[2];  ///< when each copy is due
};

class impairer {
  public:
    impairer(impairment const& cfg, std::uint64_t seed) : cfg_(cfg), rng_(seed) {}

    [[nodiscard]] impairment const& config() const noexcept { return cfg_; }

    /// Decides the fate of a datagram of `bytes` bytes arriving at `now`.
    verdict judge(std::size_t bytes, clock::time_point now);

  private:
    [[nodiscard]] clock::time_point serialise(std::size_t bytes, clock::time_point now);

    impairment cfg_;
    std::mt19937_64 rng_;
    clock::time_point link_free_{};  ///< when the rate-limited link finishes its last datagram
};

}  // namespace udp_relay

#endif
