#ifndef SMUX_KCP_FEC_DECODER_HPP
#define SMUX_KCP_FEC_DECODER_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smux/kcp/export.hpp"
#include "smux/kcp/fec_autotune.hpp"
#include "smux/kcp/fec_codec.hpp"

namespace smux::kcp {

/// kcp-go drops queued shards older than this (fecExpire).
inline constexpr std::uint32_t fec_expire_ms = 60000;
/// kcp-go queues at most this many groups' worth of shards (rxFECMulti).
inline constexpr std::size_t fec_queue_groups = 3;

/// What a decoder has seen; kcp-go's SNMP names in brackets where it has one.
struct fec_decoder_counters {
    std::uint64_t shards_in = 0;        ///< well-formed shards handed in, data and parity
    std::uint64_t parity_in = 0;        ///< of which parity [FECParityShards]
    std::uint64_t recovered = 0;        ///< rebuilt data shards handed out [FECRecovered]
    std::uint64_t recovery_failed = 0;  ///< rebuilt shards with an impossible size [FECErrs]
    std::uint64_t duplicates = 0;       ///< shards whose seqid was queued already
    std::uint64_t evicted = 0;          ///< shards pushed out by the queue limit
    std::uint64_t expired = 0;          ///< shards dropped after fec_expire_ms
    std::uint64_t malformed = 0;        ///< dropped on arrival (see `decode`)
    std::uint64_t retunes = 0;          ///< parameter changes found by autotuning
};

/** The receiving half of kcp-go's FEC layer (fecDecoder, KCP.md §3), sans I/O: no clock, the
    caller passes one. The caller hands in each FEC datagram (bytes from the FEC header on,
    after the crypt header was checked and stripped) and feeds a data shard's own KCP bytes
    (everything after its 8-byte header) to KCP as regular input itself; the decoder returns
    only what it rebuilt from parity, which KCP must take as *not regular* (no window, no RTT).

    Shards wait in a queue sorted by seqid (wrap-aware), at most 3·(d+p), none older than
    60 s. A group whose d data shards all arrived is released; a group with d shards of any
    kind has its missing data shards rebuilt and is released. When a shard's flag contradicts
    its seqid's position, d and p are re-estimated from recent flags (fec_autotune). Memory
    stays below (3·(d+p) + 1 + min(d, p)) × mtu_limit bytes of shard storage
    for the largest parameters seen (so never above (3·256 + 1 + 128) × 1500 bytes); after the queue
   and the rebuilt shards reached their largest size, `decode` allocates nothing. Not thread-safe.
 */
class SMUX_KCP_EXPORT fec_decoder {
  public:
    /** A decoder starting from the receiver's own `data` and `parity`. A receiver with FEC
        off (or parameters kcp-go refuses) gets (1, 1), as kcp-go makes on the first FEC
        datagram, and autotunes from there. */
    fec_decoder(std::size_t data, std::size_t parity);

    /** Takes one FEC shard at time `now_ms` (any uint32 millisecond clock that wraps) and
        returns the KCP bytes (`shard[2 : size]` of each rebuilt data shard, whose size field
        passed 2 ≤ size ≤ shard length) of the data shards it let the decoder rebuild, in data
        order. The views stay valid until the next call. Dropped as malformed, and counted: a
        shard without the 0x00f1/0x00f2 flag, shorter than 8 bytes, longer than
        mtu_limit, or a data shard whose size field is below 2 or runs past it. */
    [[nodiscard]] std::span<std::span<std::byte const> const> decode(
        std::span<std::byte const> shard, std::uint32_t now_ms);

    /// d: data shards per group.
    [[nodiscard]] std::size_t data_shards() const noexcept { return codec_.data_shards(); }
    /// p: parity shards per group.
    [[nodiscard]] std::size_t parity_shards() const noexcept { return codec_.parity_shards(); }
    /// Shards waiting in the queue.
    [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }
    /// The most shards the queue keeps: 3·(d+p).
    [[nodiscard]] std::size_t queue_limit() const noexcept { return queue_limit_; }
    /// What the decoder did so far.
    [[nodiscard]] fec_decoder_counters const& counters() const noexcept { return counters_; }
    /// Bytes held for queued and rebuilt shards (allocated, used or not).
    [[nodiscard]] std::size_t storage_bytes() const noexcept {
        return store_.capacity() + rebuilt_store_.capacity();
    }

  private:
    struct queued_shard {
        std::uint32_t seqid;
        std::uint32_t arrived_ms;
        std::uint16_t length;  ///< bytes, FEC header included
        std::uint16_t slot;    ///< where its bytes are in store_
        bool data;
    };

    void use(reed_solomon codec);
    void autotune(bool data, std::uint32_t seqid);
    void evict_over_limit();
    [[nodiscard]] std::optional<std::size_t> insert(std::span<std::byte const> shard, bool data,
                                                    std::uint32_t now_ms);
    void try_group(std::size_t index);
    void rebuild(std::size_t longest);
    void release(std::span<std::size_t const> indices);
    void drop_front(std::size_t n);
    [[nodiscard]] std::byte* slot(std::size_t i) noexcept;

    reed_solomon codec_;
    std::size_t group_;  ///< d+p
    std::size_t queue_limit_;
    fec_autotune tune_;
    fec_decoder_counters counters_;

    std::vector<queued_shard> queue_;       ///< sorted by seqid
    std::vector<std::byte> store_;          ///< shard bytes, mtu_limit per slot
    std::vector<std::uint16_t> free_;       ///< unused slots of store_
    std::vector<std::byte> rebuilt_store_;  ///< min(d, p) rebuilt shards

    // Per-group scratch, sized with the parameters.
    std::vector<std::byte const*> shards_;  ///< d+p, null when missing
    std::vector<std::byte*> rebuilt_;       ///< d
    std::vector<std::size_t> members_;      ///< queue indices of the group's shards
    std::vector<std::span<std::byte const>> out_;
};

}  // namespace smux::kcp

#endif
