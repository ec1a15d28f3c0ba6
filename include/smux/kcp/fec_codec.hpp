#ifndef SMUX_KCP_FEC_CODEC_HPP
#define SMUX_KCP_FEC_CODEC_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smux/kcp/export.hpp"
#include "smux/kcp/mtu.hpp"

/** The Reed-Solomon code of kcp-go's FEC layer (KCP.md §3): klauspost/reedsolomon's default
    matrix, so that parity made here repairs kcp-go's groups and the other way round. */
namespace smux::kcp {

/// klauspost/reedsolomon refuses more data + parity shards (and kcp-go then sends without FEC).
inline constexpr std::size_t fec_max_total_shards = 256;

/** A systematic (d+p, d) Reed-Solomon code over GF(2^8) with polynomial 0x11D: the (d+p)×d
    Vandermonde matrix V[r][c] = r^c times the inverse of its top d×d square. Data shard i is
    row i (the identity); parity shard j is row d+j. The field arithmetic is Intel ISA-L's.
    Not thread-safe: encoding and reconstruction use scratch space inside the object. */
class SMUX_KCP_EXPORT reed_solomon {
  public:
    /// True for the parameters klauspost's `New` accepts with parity: d ≥ 1, p ≥ 1, d+p ≤ 256.
    [[nodiscard]] static bool valid(std::size_t data, std::size_t parity) noexcept;

    /// The code for `data` + `parity` shards, or empty unless `valid(data, parity)`.
    [[nodiscard]] static std::optional<reed_solomon> create(std::size_t data, std::size_t parity);

    /// d: data shards per group.
    [[nodiscard]] std::size_t data_shards() const noexcept { return data_; }
    /// p: parity shards per group.
    [[nodiscard]] std::size_t parity_shards() const noexcept { return parity_; }

    /// Entry (row, column) of the (d+p)×d encoding matrix.
    [[nodiscard]] std::uint8_t coefficient(std::size_t row, std::size_t column) const noexcept {
        return matrix_[row * data_ + column];
    }

    /** Writes the parity shards: `parity[j][k]` = XOR over i of M[d+j][i]·`data[i][k]`, for k
        below `length`. Precondition: d data and p parity pointers, each to `length` bytes,
        `length` ≤ mtu_limit. */
    void encode(std::span<std::byte const* const> data, std::span<std::byte* const> parity,
                std::size_t length);

    /** Rebuilds the missing data shards from any d present ones, as klauspost's
        `ReconstructData`. `shards` holds d+p entries: shard i's `length` bytes, or null when it
        is missing. Each missing data shard i is written to `rebuilt[i]` (`length` bytes; the
        other entries of `rebuilt`, which has d entries, are not used). False, and nothing
        written, when fewer than d shards are present. */
    [[nodiscard]] bool reconstruct_data(std::span<std::byte const* const> shards,
                                        std::span<std::byte* const> rebuilt, std::size_t length);

  private:
    reed_solomon(std::size_t data, std::size_t parity);
    [[nodiscard]] bool decode_missing(std::span<std::byte* const> rebuilt, std::size_t length);

    std::size_t data_;
    std::size_t parity_;
    std::vector<std::uint8_t> matrix_;          ///< (d+p)×d, row-major
    std::vector<unsigned char> parity_tables_;  ///< ISA-L's expansion of the parity rows

    // Scratch space, so that coding allocates nothing once it has seen its largest case.
    std::vector<unsigned char*> inputs_;        ///< d
    std::vector<unsigned char*> outputs_;       ///< p
    std::vector<std::size_t> input_rows_;       ///< d: the rows the inputs come from
    std::vector<std::size_t> lost_;             ///< the missing data shards (m of them)
    std::vector<unsigned char> square_;         ///< m×m: the parity inputs' columns of lost_
    std::vector<unsigned char> inverse_;        ///< m×m
    std::vector<unsigned char> decode_rows_;    ///< m×d
    std::vector<unsigned char> decode_tables_;  ///< ISA-L's expansion of decode_rows_
};

}  // namespace smux::kcp

#endif
