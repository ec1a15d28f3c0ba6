#ifndef SMUX_KCP_PACKET_HPP
#define SMUX_KCP_PACKET_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "smux/kcp/export.hpp"

/** The layers kcp-go wraps around KCP segments in one UDP datagram (KCP.md §1 to §3): the
    crypt header (nonce and CRC-32, present whenever a cipher is set: always in kcptun) and the
    FEC header. Encryption itself and Reed-Solomon coding are separate pieces. */
namespace smux::kcp {

/// Bytes of the random nonce at the front of an encrypted datagram.
inline constexpr std::size_t nonce_size = 16;
/// Nonce (16 bytes), then the CRC-32 of everything after this header, little-endian.
inline constexpr std::size_t crypt_header_size = 20;

/// CRC-32/IEEE, as zlib's `crc32` (reflected 0xEDB88320, init and final XOR 0xFFFFFFFF).
[[nodiscard]] SMUX_KCP_EXPORT std::uint32_t crc32_ieee(std::span<std::byte const> bytes) noexcept;

/// Writes the CRC of `plaintext[20..]` at bytes 16..19 (before encryption, as kcp-go does).
/// Precondition: at least `crypt_header_size` bytes.
SMUX_KCP_EXPORT void seal_crc(std::span<std::byte> plaintext) noexcept;

/// After decryption: true when the datagram holds a crypt header and its CRC matches. kcp-go
/// drops any other datagram silently.
[[nodiscard]] SMUX_KCP_EXPORT bool crc_matches(std::span<std::byte const> plaintext) noexcept;

/// FEC flag values (u16 LE at offset 4 of the FEC header).
inline constexpr std::uint16_t fec_flag_data = 0x00f1;
/// The flag of a parity shard.
inline constexpr std::uint16_t fec_flag_parity = 0x00f2;
/// seqid (u32) and flag (u16); data shards add a size field (u16): 2 + their KCP bytes.
inline constexpr std::size_t fec_header_size = 6;
/// The FEC header of a data shard: seqid, flag and size.
inline constexpr std::size_t fec_data_header_size = 8;

/// kcp-go's FEC header (little-endian on the wire).
struct fec_header {
    /// the shard's sequence number; a group is d+p consecutive ones
    std::uint32_t seqid = 0;
    /// `fec_flag_data` or `fec_flag_parity`
    std::uint16_t flag = 0;
    std::uint16_t size = 0;  ///< data shards only: 2 + KCP byte count (counts itself)

    /// True for a parity shard.
    [[nodiscard]] bool is_parity() const noexcept { return flag == fec_flag_parity; }
    friend bool operator==(fec_header const&, fec_header const&) = default;
};

/** The FEC header at the front of `bytes` (what follows the crypt header), or empty when
    these are plain KCP bytes: kcp-go decides per datagram by the flag at offset 4 (a KCP
    header never holds 0x00f1/0x00f2 there). A data shard shorter than its 8-byte header is
    empty too. */
[[nodiscard]] SMUX_KCP_EXPORT std::optional<fec_header> read_fec_header(
    std::span<std::byte const> bytes) noexcept;

}  // namespace smux::kcp

#endif
