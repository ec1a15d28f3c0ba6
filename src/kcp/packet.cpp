// The crypt header's CRC and the FEC header (KCP.md §2, §3). The CRC is zlib's.

#include "smux/kcp/packet.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "little_endian.hpp"

namespace smux::kcp {

using detail::get_le;

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
    detail::put_le(plaintext.data() + nonce_size, crc);
}

bool crc_matches(std::span<std::byte const> plaintext) noexcept {
    return plaintext.size() >= crypt_header_size &&
           get_le<std::uint32_t>(plaintext.data() + nonce_size) ==
               crc32_ieee(plaintext.subspan(crypt_header_size));
}

std::optional<fec_header> read_fec_header(std::span<std::byte const> bytes) noexcept {
    if (bytes.size() < fec_header_size) {
        return std::nullopt;
    }
    fec_header h{.seqid = get_le<std::uint32_t>(bytes.data()),
                 .flag = get_le<std::uint16_t>(bytes.data() + 4)};
    if (h.flag == fec_flag_parity) {
        return h;
    }
    if (h.flag != fec_flag_data || bytes.size() < fec_data_header_size) {
        return std::nullopt;
    }
    h.size = get_le<std::uint16_t>(bytes.data() + 6);
    return h;
}

}  // namespace smux::kcp
