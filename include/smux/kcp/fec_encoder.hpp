#ifndef SMUX_KCP_FEC_ENCODER_HPP
#define SMUX_KCP_FEC_ENCODER_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smux/kcp/export.hpp"
#include "smux/kcp/fec_codec.hpp"

namespace smux::kcp {

/** The sending half of kcp-go's FEC layer (fecEncoder, KCP.md §3), sans I/O. Every datagram
    KCP emits goes through `encode` (ACK-only ones too): it gets the next seqid and the data
    flag and size field in place, and after the d-th data datagram of a group the p parity
    datagrams come back. No allocation after `create`. */
class SMUX_KCP_EXPORT fec_encoder {
  public:
    /** The encoder for `data` + `parity` shards whose FEC header sits `header_offset` bytes
        into each datagram (20 behind kcp-go's crypt header, 0 without a cipher). Empty unless
        `reed_solomon::valid(data, parity)`: kcp-go then sends without FEC. `first_seqid`
        exists for tests of the seqid wrap (kcp-go always starts at 0); it must begin a group
        below the wrap point. @throws std::invalid_argument for a bad offset or first seqid. */
    [[nodiscard]] static std::optional<fec_encoder> create(std::size_t data, std::size_t parity,
                                                           std::size_t header_offset,
                                                           std::uint32_t first_seqid = 0);

    /** Marks `datagram` as the next data shard: `header_offset` bytes the caller owns (its
        crypt header, not touched), then the 8-byte FEC header written here (seqid, flag
        0x00f1, size = 2 + the KCP bytes), then the KCP bytes. Returns the group's parity
        datagrams when this was its d-th data shard, else nothing. Each parity datagram is as
        long as the longest datagram of its group, with `header_offset` bytes in front for the
        caller's crypt header, and its FEC header written; the caller may modify it in place
        (nonce, CRC, encryption). The views stay valid until the next `encode`.
        @throws std::length_error when `datagram` is shorter than header_offset + 8 bytes or
        longer than mtu_limit. */
    [[nodiscard]] std::span<std::span<std::byte> const> encode(std::span<std::byte> datagram);

    /// d: data shards per group.
    [[nodiscard]] std::size_t data_shards() const noexcept { return codec_.data_shards(); }
    /// p: parity shards per group.
    [[nodiscard]] std::size_t parity_shards() const noexcept { return codec_.parity_shards(); }
    /// Bytes in front of the FEC header that belong to the caller (its crypt header).
    [[nodiscard]] std::size_t header_offset() const noexcept { return header_offset_; }
    /// The seqid the next datagram (or parity datagram) gets.
    [[nodiscard]] std::uint32_t next_seqid() const noexcept { return next_; }
    /// Where seqids wrap to 0, right after a parity shard: floor(0xFFFFFFFF/(d+p))·(d+p).
    [[nodiscard]] std::uint32_t wrap() const noexcept { return wrap_; }

  private:
    fec_encoder(reed_solomon codec, std::size_t header_offset, std::uint32_t first_seqid);

    [[nodiscard]] std::span<std::byte> slot(std::size_t i) noexcept;
    void make_parity();

    reed_solomon codec_;
    std::size_t header_offset_;
    std::uint32_t wrap_;
    std::uint32_t next_;
    std::size_t collected_ = 0;  ///< data shards of the current group so far
    std::size_t longest_ = 0;    ///< longest datagram of the current group

    /// d+p datagram-shaped slots of mtu_limit bytes: copies of the group's data
    /// datagrams, then the parity datagrams handed out.
    std::vector<std::byte> slots_;
    std::vector<std::size_t> lengths_;  ///< of the data slots
    std::vector<std::byte const*> data_in_;
    std::vector<std::byte*> parity_out_;
    std::vector<std::span<std::byte>> parity_datagrams_;
};

}  // namespace smux::kcp

#endif
