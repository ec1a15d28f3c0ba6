#ifndef SMUX_KCP_SNAPPY_FRAME_HPP
#define SMUX_KCP_SNAPPY_FRAME_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <type_traits>
#include <vector>

#include "smux/kcp/export.hpp"

/** kcptun's compression (KCP.md §5): golang/snappy's *framing format*, written as kcptun's
    CompStream does (a buffered Writer flushed after every write), sans I/O. */
namespace smux::kcp {

/// Uncompressed bytes one chunk carries at most (golang/snappy maxBlockSize).
inline constexpr std::size_t snappy_max_block = 65536;
/// The stream identifier chunk that starts each direction: ff 06 00 00 "sNaPpY".
inline constexpr std::size_t snappy_identifier_size = 10;
/// Chunk header: type byte and 24-bit little-endian length.
inline constexpr std::size_t snappy_chunk_header_size = 4;
/// Masked CRC-32C at the front of every data chunk's body.
inline constexpr std::size_t snappy_checksum_size = 4;
/// The longest chunk body golang/snappy's Reader accepts (its buffer: MaxEncodedLen(65536) +
/// checksum); longer chunks of any type are refused.
inline constexpr std::size_t snappy_max_chunk_body = 76490 + snappy_checksum_size;
/// Wire bytes one encoded chunk can take, stream identifier included.
inline constexpr std::size_t snappy_max_encoded_chunk =
    snappy_identifier_size + snappy_chunk_header_size + snappy_max_chunk_body;

/// Why a framed stream was refused; golang/snappy's error in brackets.
enum class snappy_error {
    missing_identifier = 1,  ///< the first chunk is not the stream identifier [ErrCorrupt]
    bad_identifier,          ///< an identifier chunk not exactly "sNaPpY" [ErrCorrupt]
    chunk_too_long,          ///< a chunk body over snappy_max_chunk_body [ErrUnsupported]
    unskippable_chunk,       ///< reserved chunk type 0x02..0x7f [ErrUnsupported]
    chunk_too_short,         ///< a data chunk shorter than its checksum [ErrCorrupt]
    block_too_large,         ///< a chunk decoding to more than 65536 bytes [ErrCorrupt]
    corrupt_block,           ///< a compressed chunk that is not a valid snappy block
    checksum_mismatch,       ///< the CRC-32C of the data differs from the chunk's [ErrCorrupt]
    truncated_stream,        ///< the stream ended inside a chunk [ErrCorrupt]
};

/// The category of `snappy_error` codes.
[[nodiscard]] SMUX_KCP_EXPORT std::error_category const& snappy_category() noexcept;

/// `e` as a `std::error_code` (so `snappy_error` values compare with codes).
[[nodiscard]] inline std::error_code make_error_code(snappy_error e) noexcept {
    return {static_cast<int>(e), snappy_category()};
}

/// golang/snappy's chunk checksum: CRC-32C, rotated right by 15, plus 0xa282ead8.
[[nodiscard]] SMUX_KCP_EXPORT std::uint32_t snappy_masked_crc(
    std::span<std::byte const> data) noexcept;

/** One direction's writer: each `encode` call is what kcptun's CompStream.Write puts on the
    wire (golang/snappy Writer.Write then Flush). Not thread-safe. */
class SMUX_KCP_EXPORT snappy_frame_encoder {
  public:
    /** Encodes the first min(size, 65536) bytes of `data` as one chunk and returns the bytes
        to send: the stream identifier first if nothing was sent yet, then the chunk (type 0x00
        when the snappy block is shorter than n − n/8, else 0x01 with the data as is). Empty
        `data` gives nothing, not even the identifier (as golang/snappy). The view stays valid
        until the next call. */
    [[nodiscard]] std::span<std::byte const> encode_chunk(std::span<std::byte const> data);

    /// Appends a whole write to `out`: 65536-byte chunks, then the rest (as `encode_chunk`).
    void encode(std::span<std::byte const> data, std::vector<std::byte>& out);

    /// Whether the stream identifier went out.
    [[nodiscard]] bool started() const noexcept { return started_; }

  private:
    std::vector<std::byte> out_;  ///< snappy_max_encoded_chunk bytes once used
    bool started_ = false;
};

}  // namespace smux::kcp

template <>
struct std::is_error_code_enum<smux::kcp::snappy_error> : std::true_type {};

#endif
