// The crypt header's CRC and the FEC header (KCP.md §2, §3). The CRC itself is crc32_ieee.cpp.

#include "smux/kcp/packet.hpp"

#include "little_endian.hpp"

namespace smux::kcp {

using detail::get_le;

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
