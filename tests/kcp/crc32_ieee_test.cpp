// The crypt header's CRC-32 (ISA-L) against zlib's crc32, the function kcp-go's hash/crc32
// agrees with, on random buffers of every length around the folding code's block sizes and at
// unaligned starts.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <smux/kcp/packet.hpp>
#include <span>

#include "support/wire.hpp"

namespace {

using smux_wire::bytes;

std::uint32_t zlib_crc32(std::span<std::byte const> b) {
    return static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                            reinterpret_cast<Bytef const*>(b.data()),
                                            static_cast<uInt>(b.size())));
}

bytes random_input(std::size_t n, std::mt19937& rng) {
    bytes b(n);
    for (auto& x : b) {
        x = static_cast<std::byte>(rng() & 0xff);
    }
    return b;
}

TEST(kcp_crc32_ieee, equals_zlib_on_random_buffers_of_every_length_to_600) {
    std::mt19937 rng(20261203);
    for (std::size_t n = 0; n <= 600; ++n) {
        bytes const b = random_input(n, rng);
        EXPECT_EQ(smux::kcp::crc32_ieee(b), zlib_crc32(b)) << "length " << n;
    }
}

TEST(kcp_crc32_ieee, equals_zlib_at_unaligned_starts_and_datagram_sizes) {
    std::mt19937 rng(7);
    bytes const b = random_input(70000, rng);
    std::span<std::byte const> const all(b);
    for (std::size_t start = 0; start < 17; ++start) {
        for (std::size_t n : {1U, 15U, 63U, 64U, 255U, 256U, 1330U, 1480U, 65536U}) {
            auto const part = all.subspan(start, n);
            EXPECT_EQ(smux::kcp::crc32_ieee(part), zlib_crc32(part))
                << "start " << start << " length " << n;
        }
    }
}

}  // namespace
