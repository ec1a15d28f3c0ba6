// CRC-32/IEEE of the crypt header through ISA-L, whose folding code (PCLMULQDQ where the CPU
// has it) runs several times faster than zlib's table-driven crc32 on datagram-sized buffers.

#include <isa-l/crc.h>

#include <cstdint>
#include <span>

#include "smux/kcp/packet.hpp"

namespace smux::kcp {

// crc32_gzip_refl is the reflected polynomial with zlib's pre- and post-inversion: starting
// from 0 it returns what zlib's crc32(0, ...) does, and its length is 64-bit.
std::uint32_t crc32_ieee(std::span<std::byte const> bytes) noexcept {
    // crc32_gzip_refl only reads the buffer; its parameter lacks const.
    auto* p = const_cast<unsigned char*>(reinterpret_cast<unsigned char const*>(bytes.data()));
    return ::crc32_gzip_refl(0, p, bytes.size());
}

}  // namespace smux::kcp
