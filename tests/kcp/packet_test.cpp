// The crypt header's CRC and the FEC header against KCP.md §6: the (c1), (c2) and (e)
// plaintexts (crypt none sends them as they are) and the FEC group of (d).

#include <gtest/gtest.h>

#include <smux/kcp/packet.hpp>

#include "kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using kcp_vectors::c1_plaintext;
using kcp_vectors::c2_plaintext;
using smux::kcp::fec_header;

TEST(kcp_crypt_header, crc_is_zlib_crc32_over_everything_after_the_header) {
    for (char const* hex : {c1_plaintext, c2_plaintext}) {
        bytes const datagram = from_hex(hex);
        EXPECT_TRUE(smux::kcp::crc_matches(datagram)) << hex;
        bytes resealed = datagram;
        for (std::size_t i = 16; i < 20; ++i) {
            resealed[i] = std::byte{0};
        }
        smux::kcp::seal_crc(resealed);
        EXPECT_EQ(to_hex(resealed), to_hex(datagram));
    }
    EXPECT_EQ(smux::kcp::crc32_ieee(to_bytes("123456789")), 0xCBF43926U)
        << "the CRC-32/IEEE check value";
}

TEST(kcp_crypt_header, a_damaged_or_short_datagram_fails_the_check) {
    bytes datagram = from_hex(c1_plaintext);
    datagram.back() ^= std::byte{1};
    EXPECT_FALSE(smux::kcp::crc_matches(datagram));
    bytes nonce_changed = from_hex(c1_plaintext);
    nonce_changed[0] ^= std::byte{1};
    EXPECT_TRUE(smux::kcp::crc_matches(nonce_changed)) << "the nonce is outside the CRC";
    EXPECT_FALSE(smux::kcp::crc_matches(bytes(19)));
}

TEST(kcp_fec_header, data_and_parity_shards_of_vector_d) {
    bytes const data = from_hex(c2_plaintext);
    auto const d = smux::kcp::read_fec_header(std::span(data).subspan(20));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, (fec_header{.seqid = 0, .flag = 0x00f1, .size = 31}));
    EXPECT_EQ(d->size, 2U + 29U) << "the size field counts itself";

    bytes const parity =
        from_hex("02000000 f200 1f0004030201510000020d0c0b0a0200000000000000050000005671506c79");
    auto const p = smux::kcp::read_fec_header(parity);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->is_parity());
    EXPECT_EQ(p->seqid, 2U);
}

TEST(kcp_fec_header, plain_kcp_bytes_have_none) {
    bytes const kcp = from_hex(c1_plaintext);
    EXPECT_FALSE(smux::kcp::read_fec_header(std::span(kcp).subspan(20)))
        << "offset 4 of a KCP header holds cmd and frg, never f1 00 or f2 00";
    EXPECT_FALSE(smux::kcp::read_fec_header(from_hex("00000000 f100 1f")))
        << "a data shard cut inside its size field";
    EXPECT_FALSE(smux::kcp::read_fec_header(from_hex("00000000 f1")));
}

}  // namespace
