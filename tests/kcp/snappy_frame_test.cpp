// The framing encoder against KCP.md §6 (f) and golang/snappy's own output, and round trips
// through the incremental decoder.

#include <gtest/gtest.h>

#include <snappy.h>
#include <smux/kcp/snappy_frame.hpp>

#include <random>
#include <string>
#include <string_view>

#include "snappy_go_vectors.hpp"
#include "snappy_test_support.hpp"

namespace {

using namespace snappy_test;
using smux::kcp::snappy_frame_encoder;
using smux_wire::from_hex;
using smux_wire::to_hex;

bytes encode_writes(std::vector<bytes> const& writes) {
    snappy_frame_encoder enc;
    bytes wire;
    for (auto const& w : writes) {
        enc.encode(w, wire);
    }
    return wire;
}

bytes concat(std::vector<bytes> const& writes) {
    bytes all;
    for (auto const& w : writes) {
        all.insert(all.end(), w.begin(), w.end());
    }
    return all;
}

TEST(snappy_frame, masked_crc_is_golang_snappys) {
    // CRC-32C("123456789") = e3069283; masked: rotate right 15, add a282ead8.
    std::uint32_t const c = 0xe3069283U;
    EXPECT_EQ(smux::kcp::snappy_masked_crc(smux_wire::to_bytes("123456789")),
              ((c >> 15) | (c << 17)) + 0xa282ead8U);
}

TEST(snappy_frame, v1_syn_is_kcp_md_vector_f) {
    snappy_frame_encoder enc;
    EXPECT_FALSE(enc.started());
    auto const wire = enc.encode_chunk(from_hex("01 00 0000 01000000"));
    EXPECT_EQ(to_hex(wire), "ff060000734e61507059010c00007a1bad6c0100000001000000");
    EXPECT_TRUE(enc.started());
    // The identifier goes out once per direction.
    EXPECT_EQ(to_hex(enc.encode_chunk(from_hex("01 00 0000 01000000"))),
              "010c00007a1bad6c0100000001000000");
}

TEST(snappy_frame, empty_write_sends_nothing_not_even_the_identifier) {
    snappy_frame_encoder enc;
    EXPECT_TRUE(enc.encode_chunk({}).empty());
    EXPECT_FALSE(enc.started());
}

/// The chunk types alone ("ff 00 01 ").
std::string chunk_types(std::string_view list) {
    std::string types;
    for (std::size_t at = 0; at < list.size(); at = list.find(' ', at) + 1) {
        types += list.substr(at, 2);
        types += ' ';
    }
    return types;
}

/// Vectors whose compressed blocks libsnappy 1.1.9 encodes differently from golang/snappy
/// 0.0.2 (a byte or two shorter or longer; both are valid blocks that each side decodes).
bool block_differs(std::string_view name) {
    return name == "text 1000" || name == "three writes";
}

// Chunk boundaries and types always equal golang/snappy's, raw chunks byte for byte; the whole
// wire too where libsnappy's blocks equal golang/snappy's, which is most of the vectors.
TEST(snappy_frame, chunks_match_golang_snappy) {
    for (auto const& v : snappy_go_vectors::vectors) {
        SCOPED_TRACE(v.name);
        auto const writes = make_writes(v.writes);
        auto const wire = encode_writes(writes);
        EXPECT_EQ(chunk_types(chunk_list(wire)), chunk_types(v.chunks));
        if (block_differs(v.name)) {
            EXPECT_NE(fnv1a(wire), v.wire_fnv1a) << "now equal: drop it from block_differs";
            continue;
        }
        EXPECT_EQ(chunk_list(wire), v.chunks);
        EXPECT_EQ(wire.size(), v.wire_size);
        EXPECT_EQ(fnv1a(wire), v.wire_fnv1a);
        if (*v.hex != '\0') {
            EXPECT_EQ(to_hex(wire), v.hex);
        }
    }
}

TEST(snappy_frame, decodes_golang_snappys_bytes) {
    for (auto const& v : snappy_go_vectors::vectors) {
        if (*v.hex == '\0') {
            continue;
        }
        SCOPED_TRACE(v.name);
        auto const got = decode(from_hex(v.hex), 7);
        EXPECT_FALSE(got.ec) << got.ec.message();
        EXPECT_EQ(got.data, concat(make_writes(v.writes)));
        EXPECT_FALSE(got.mid_chunk);
    }
}

// golang/snappy keeps a compressed block only when it is shorter than n − ⌊n/8⌋.
TEST(snappy_frame, raw_or_compressed_by_the_eighth_rule) {
    std::mt19937 rng(5);
    for (int i = 0; i < 400; ++i) {
        std::size_t const n = 1 + rng() % 3000;
        // From incompressible to very compressible: a few random bytes repeated with noise.
        bytes data = lcg_bytes(static_cast<std::uint32_t>(i), n);
        std::size_t const period = 1 + rng() % 64;
        for (std::size_t k = period; k < n; ++k) {
            if (rng() % 8 >= static_cast<unsigned>(i % 9)) {
                data[k] = data[k - period];
            }
        }
        std::string block;
        snappy::Compress(reinterpret_cast<char const*>(data.data()), n, &block);
        snappy_frame_encoder enc;
        auto const wire = enc.encode_chunk(data);
        bool const compressed = block.size() < n - n / 8;
        ASSERT_EQ(wire[10], std::byte{compressed ? std::uint8_t{0} : std::uint8_t{1}}) << n;
        ASSERT_EQ(wire.size(), 10 + 8 + (compressed ? block.size() : n));
    }
}

TEST(snappy_frame, round_trips_random_sizes_in_random_splits) {
    std::mt19937 rng(11);
    for (int i = 0; i < 60; ++i) {
        std::size_t const n = i == 0 ? 0 : rng() % (200 * 1024 + 1);
        bool const compressible = i % 2 == 0;
        bytes const data =
            compressible ? text_bytes(n) : lcg_bytes(static_cast<std::uint32_t>(i), n);
        // A few writes of random length, each encoded as kcptun's CompStream.Write.
        snappy_frame_encoder enc;
        bytes wire;
        for (std::size_t at = 0; at < n;) {
            std::size_t const len = std::min(n - at, std::size_t{1} + rng() % (80 * 1024));
            enc.encode(std::span(data).subspan(at, len), wire);
            at += len;
        }
        if (compressible && n > 1000) {
            EXPECT_LT(wire.size(), n / 2);
        }
        std::size_t const max_piece = 1 + rng() % 100000;
        auto const got = decode(wire, max_piece, static_cast<std::uint32_t>(i));
        ASSERT_FALSE(got.ec) << got.ec.message();
        ASSERT_EQ(got.data, data) << "size " << n << " pieces up to " << max_piece;
        EXPECT_FALSE(got.mid_chunk);
    }
}

TEST(snappy_frame, byte_by_byte_feed_of_two_full_chunks) {
    bytes const data = text_bytes(2 * 65536 + 3);
    bytes wire;
    snappy_frame_encoder enc;
    enc.encode(data, wire);
    EXPECT_TRUE(chunk_list(wire).ends_with(" 01:7 "));  // the last 3 bytes: raw
    auto const got = decode(wire, 1);
    ASSERT_FALSE(got.ec);
    EXPECT_EQ(got.data, data);
}

}  // namespace
