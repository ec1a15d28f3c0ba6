// The sending half of kcp-go's FEC layer against KCP.md §6 (d): the 2+1 group with and without
// the crypt header, the unequal-size group; seqids, padding and the wrap.

#include <gtest/gtest.h>

#include <smux/kcp/fec_codec.hpp>
#include <smux/kcp/fec_encoder.hpp>
#include <smux/kcp/packet.hpp>
#include <stdexcept>
#include <vector>

#include "kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using smux::kcp::fec_encoder;

bytes const world_push = from_hex("04030201510000020d0c0b0a010000000000000005000000776f726c64");
bytes const hi_push = from_hex("04030201510000020d0c0b0a0100000000000000020000006869");

/// A datagram as KCP hands it over: `offset` bytes of crypt header, 8 for FEC, the KCP bytes.
bytes shard_datagram(std::size_t offset, bytes const& kcp) {
    return bytes(offset + smux::kcp::fec_data_header_size) + kcp;
}

bytes nonce_from(std::uint8_t first) {
    bytes n;
    for (std::uint8_t i = 0; i < 16; ++i) {
        n.push_back(std::byte{static_cast<std::uint8_t>(first + i)});
    }
    return n;
}

/// As kcp-go's output with a cipher: nonce, CRC (the `none` cipher leaves the rest alone).
void seal_none(std::span<std::byte> d, std::uint8_t nonce_start) {
    bytes const nonce = nonce_from(nonce_start);
    std::copy(nonce.begin(), nonce.end(), d.begin());
    smux::kcp::seal_crc(d);
}

TEST(kcp_fec_encoder, fec_off_parameters_make_no_encoder) {
    EXPECT_FALSE(fec_encoder::create(0, 3, 20));
    EXPECT_FALSE(fec_encoder::create(10, 0, 20));
    EXPECT_FALSE(fec_encoder::create(200, 57, 20)) << "over 256 shards: kcp-go sends plain KCP";
    EXPECT_TRUE(fec_encoder::create(255, 1, 20));
}

TEST(kcp_fec_encoder, the_2_1_group_of_vector_d) {
    auto enc = fec_encoder::create(2, 1, 0);
    ASSERT_TRUE(enc);
    bytes d0 = shard_datagram(0, from_hex(kcp_vectors::push_b));
    bytes d1 = shard_datagram(0, world_push);
    EXPECT_TRUE(enc->encode(d0).empty());
    EXPECT_EQ(to_hex(d0),
              "00000000f1001f0004030201510000020d0c0b0a00000000000000000500000068656c6c6f");
    auto const parity = enc->encode(d1);
    EXPECT_EQ(to_hex(d1),
              "01000000f1001f0004030201510000020d0c0b0a010000000000000005000000776f726c64");
    ASSERT_EQ(parity.size(), 1U);
    EXPECT_EQ(to_hex(parity[0]),
              "02000000f2001f0004030201510000020d0c0b0a0200000000000000050000005671506c79");
    EXPECT_EQ(enc->next_seqid(), 3U);
}

TEST(kcp_fec_encoder, the_unequal_group_of_vector_d_pads_with_zeros) {
    auto enc = fec_encoder::create(2, 1, 0);
    bytes d0 = shard_datagram(0, from_hex(kcp_vectors::push_b));
    bytes d1 = shard_datagram(0, hi_push);
    (void)enc->encode(d0);
    auto const parity = enc->encode(d1);
    EXPECT_EQ(to_hex(d1), "01000000f1001c0004030201510000020d0c0b0a0100000000000000020000006869")
        << "the datagram itself is not padded";
    ASSERT_EQ(parity.size(), 1U);
    EXPECT_EQ(to_hex(parity[0]),
              "02000000f200190004030201510000020d0c0b0a02000000000000000b000000687db4b4b1");
    EXPECT_EQ(parity[0].size(), d0.size()) << "as long as the longest datagram of the group";
}

TEST(kcp_fec_encoder, behind_a_crypt_header_as_vector_d_with_crypt_none) {
    auto enc = fec_encoder::create(2, 1, smux::kcp::crypt_header_size);
    bytes d0 = shard_datagram(20, from_hex(kcp_vectors::push_b));
    bytes d1 = shard_datagram(20, world_push);
    EXPECT_TRUE(enc->encode(d0).empty());
    seal_none(d0, 0x00);
    EXPECT_EQ(to_hex(d0), to_hex(from_hex(kcp_vectors::c2_plaintext)));
    auto const parity = enc->encode(d1);
    seal_none(d1, 0x10);
    EXPECT_EQ(to_hex(d1),
              "101112131415161718191a1b1c1d1e1f9c3e8fce01000000f1001f0004030201510000020d0c0b0a01"
              "0000000000000005000000776f726c64");
    ASSERT_EQ(parity.size(), 1U);
    seal_none(parity[0], 0x20);
    EXPECT_EQ(to_hex(parity[0]),
              "202122232425262728292a2b2c2d2e2f2233cb8802000000f2001f0004030201510000020d0c0b0a02"
              "00000000000000050000005671506c79");
}

TEST(kcp_fec_encoder, every_datagram_takes_a_seqid_and_parity_follows_the_dth) {
    auto enc = fec_encoder::create(10, 3, 20);
    for (std::uint32_t group = 0; group < 3; ++group) {
        for (std::uint32_t i = 0; i < 10; ++i) {
            // ACK-only datagrams are shards too (KCP.md §7.6): the size of the KCP bytes is moot.
            bytes d = shard_datagram(20, bytes(i % 2 == 0 ? 24 : 100, std::byte{0x52}));
            auto const parity = enc->encode(d);
            auto const h = smux::kcp::read_fec_header(std::span(d).subspan(20));
            ASSERT_TRUE(h);
            EXPECT_EQ(h->seqid, group * 13 + i);
            EXPECT_EQ(h->size, d.size() - 26);
            if (i < 9) {
                EXPECT_TRUE(parity.empty());
                continue;
            }
            ASSERT_EQ(parity.size(), 3U);
            for (std::uint32_t j = 0; j < 3; ++j) {
                EXPECT_EQ(parity[j].size(), 20U + 8 + 100);
                auto const ph = smux::kcp::read_fec_header(parity[j].subspan(20));
                ASSERT_TRUE(ph);
                EXPECT_TRUE(ph->is_parity());
                EXPECT_EQ(ph->seqid, group * 13 + 10 + j);
            }
        }
    }
    EXPECT_EQ(enc->next_seqid(), 39U);
}

TEST(kcp_fec_encoder, padding_never_carries_bytes_of_an_earlier_group) {
    auto enc = fec_encoder::create(2, 2, 0);
    auto rs = smux::kcp::reed_solomon::create(2, 2);
    bytes long_one = shard_datagram(0, bytes(300, std::byte{0xAB}));
    bytes long_two = long_one;
    (void)enc->encode(long_one);
    (void)enc->encode(long_two);
    // Second group: a short datagram in the slot a long one used, then a medium one.
    bytes shorter = shard_datagram(0, bytes(10, std::byte{0x11}));
    bytes medium = shard_datagram(0, bytes(50, std::byte{0x22}));
    (void)enc->encode(shorter);
    auto const parity = enc->encode(medium);
    ASSERT_EQ(parity.size(), 2U);

    // The code over the zero-padded shards (from offset 6), computed independently.
    bytes a(shorter.begin() + 6, shorter.end());
    bytes b(medium.begin() + 6, medium.end());
    a.resize(b.size());
    bytes p0(b.size());
    bytes p1(b.size());
    std::vector<std::byte const*> in{a.data(), b.data()};
    std::vector<std::byte*> out{p0.data(), p1.data()};
    rs->encode(in, out, b.size());
    EXPECT_EQ(to_hex(parity[0].subspan(6)), to_hex(p0));
    EXPECT_EQ(to_hex(parity[1].subspan(6)), to_hex(p1));
}

TEST(kcp_fec_encoder, seqids_wrap_to_zero_after_a_parity_shard) {
    std::uint32_t const wrap = 4294967287U;  // floor(0xFFFFFFFF / 13) * 13, KCP.md §3
    auto enc = fec_encoder::create(10, 3, 0, wrap - 13);
    ASSERT_TRUE(enc);
    EXPECT_EQ(enc->wrap(), wrap);
    std::vector<std::uint32_t> seen;
    for (int i = 0; i < 20; ++i) {
        bytes d = shard_datagram(0, bytes(30));
        auto const parity = enc->encode(d);
        seen.push_back(smux::kcp::read_fec_header(d)->seqid);
        for (auto const& p : parity) {
            seen.push_back(smux::kcp::read_fec_header(p)->seqid);
        }
    }
    ASSERT_EQ(seen.size(), 26U);
    for (std::uint32_t i = 0; i < 13; ++i) {
        EXPECT_EQ(seen[i], wrap - 13 + i);
        EXPECT_EQ(seen[13 + i], i) << "the next group starts at 0";
    }
    EXPECT_THROW((void)fec_encoder::create(10, 3, 0, 5), std::invalid_argument) << "mid-group";
    EXPECT_THROW((void)fec_encoder::create(10, 3, 0, wrap), std::invalid_argument);
}

TEST(kcp_fec_encoder, refuses_datagrams_it_cannot_hold) {
    auto enc = fec_encoder::create(2, 1, 20);
    bytes too_short(27);
    EXPECT_THROW((void)enc->encode(too_short), std::length_error);
    bytes too_long(1501);
    EXPECT_THROW((void)enc->encode(too_long), std::length_error);
    bytes largest(1500);
    EXPECT_NO_THROW((void)enc->encode(largest));
    EXPECT_EQ(enc->next_seqid(), 1U) << "refused datagrams take no seqid";
    EXPECT_THROW((void)fec_encoder::create(2, 1, 1493), std::invalid_argument);
}

}  // namespace
