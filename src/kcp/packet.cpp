// The crypt header's CRC and the FEC header (KCP.md §2, §3). The CRC is zlib's.

#include "smux/kcp/packet.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace smux::kcp {

namespace {

std::uint32_t get_u32(std::byte const* p) noexcept {
    return std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8U |
           std::to_integer<std::uint32_t>(p[2]) << 16U |
           std::to_integer<std::uint32_t>(p[3]) << 24U;
}

std::uint16_t get_u16(std::byte const* p) noexcept {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) |
                                      std::to_integer<unsigned>(p[1]) << 8U);
}

}  // namespace

std::uint32_t crc32_ieee(std::span<std::byte const> bytes) noexcept {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (!bytes.empty()) {  // zlib takes a uInt length
        std::size_t const n = std::min<std::size_t>(bytes.size(), std::numeric_limits<uInt>::max());
        crc = crc32(crc, reinterpret_cast<Bytef const*>(bytes.data()), static_cast<uInt>(n));
        bytes = bytes.subspan(n);
    }
    return static_cast<std::uint32_t>(crc);
}

void seal_crc(std::span<std::byte> plaintext) noexcept {
    std::uint32_t const crc = crc32_ieee(plaintext.subspan(crypt_header_size));
    for (std::size_t i = 0; i < 4; ++i) {
        plaintext[nonce_size + i] = static_cast<std::byte>(crc >> (8 * i));
    }
}

bool crc_matches(std::span<std::byte const> plaintext) noexcept {
    return plaintext.size() >= crypt_header_size &&
           get_u32(plaintext.data() + nonce_size) ==
               crc32_ieee(plaintext.subspan(crypt_header_size));
}

std::optional<fec_header> read_fec_header(std::span<std::byte const> bytes) noexcept {
    if (bytes.size() < fec_header_size) {
        return std::nullopt;
    }
    fec_header h{.seqid = get_u32(bytes.data()), .flag = get_u16(bytes.data() + 4)};
    if (h.flag == fec_flag_parity) {
        return h;
    }
    if (h.flag != fec_flag_data || bytes.size() < fec_data_header_size) {
        return std::nullopt;
    }
    h.size = get_u16(bytes.data() + 6);
    return h;
}

}  // namespace smux::kcp
