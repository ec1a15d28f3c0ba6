// The framing decoder's refusals, each with its own error, and what it skips.

#include <gtest/gtest.h>

#include <smux/kcp/snappy_frame.hpp>
#include <smux/kcp/snappy_frame_decoder.hpp>

#include <string>

#include "snappy_test_support.hpp"

namespace {

using namespace snappy_test;
using smux::kcp::snappy_error;
using smux_wire::from_hex;

constexpr char const* identifier = "ff060000734e61507059";

bytes operator+(bytes a, bytes const& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// A chunk: type, 24-bit length, body.
bytes chunk(int type, bytes const& body) {
    bytes out{static_cast<std::byte>(type), static_cast<std::byte>(body.size()),
              static_cast<std::byte>(body.size() >> 8), static_cast<std::byte>(body.size() >> 16)};
    return out + body;
}

bytes le32(std::uint32_t v) {
    return {static_cast<std::byte>(v), static_cast<std::byte>(v >> 8),
            static_cast<std::byte>(v >> 16), static_cast<std::byte>(v >> 24)};
}

/// A data chunk with the right checksum for `data`.
bytes data_chunk(int type, bytes const& payload, bytes const& data) {
    return chunk(type, le32(smux::kcp::snappy_masked_crc(data)) + payload);
}

bytes raw_chunk(bytes const& data) {
    return data_chunk(1, data, data);
}

/// Every split of the wire must end in the same error.
void expect_error(bytes const& wire, snappy_error e) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
        auto const got = decode(wire, piece);
        EXPECT_EQ(got.ec, e) << "pieces of " << piece << ": " << got.ec.message();
    }
}

TEST(snappy_frame_decoder, requires_the_identifier_first) {
    expect_error(raw_chunk(text_bytes(10)), snappy_error::missing_identifier);
    expect_error(chunk(0xfe, bytes(3)), snappy_error::missing_identifier);  // not even padding
    auto const got = decode(from_hex(identifier));
    EXPECT_FALSE(got.ec);
    EXPECT_TRUE(got.data.empty());
}

TEST(snappy_frame_decoder, refuses_a_malformed_identifier) {
    expect_error(from_hex("ff050000734e615070"), snappy_error::bad_identifier);
    expect_error(from_hex("ff060000734e6150705a"), snappy_error::bad_identifier);
    // Also later in the stream.
    expect_error(from_hex(identifier) + from_hex("ff060000734e61507058"),
                 snappy_error::bad_identifier);
}

TEST(snappy_frame_decoder, accepts_repeated_identifiers) {
    auto const got = decode(from_hex(identifier) + raw_chunk(text_bytes(5)) + from_hex(identifier) +
                            raw_chunk(text_bytes(7)));
    EXPECT_FALSE(got.ec);
    EXPECT_EQ(got.data, text_bytes(5) + text_bytes(7));
}

TEST(snappy_frame_decoder, skips_padding_and_skippable_chunks_unstored) {
    bytes const big(70000, std::byte{0x55});  // longer than a data chunk, shorter than the limit
    bytes wire = from_hex(identifier) + chunk(0xfe, bytes(100)) + raw_chunk(text_bytes(20)) +
                 chunk(0x80, big) + chunk(0xfd, bytes{}) + raw_chunk(text_bytes(3));
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{999}}) {
        auto const got = decode(wire, piece);
        EXPECT_FALSE(got.ec) << got.ec.message();
        EXPECT_EQ(got.data, text_bytes(20) + text_bytes(3));
    }
}

TEST(snappy_frame_decoder, refuses_reserved_unskippable_types) {
    for (int type : {0x02, 0x10, 0x7f}) {
        expect_error(from_hex(identifier) + chunk(type, bytes(8)), snappy_error::unskippable_chunk);
    }
}

TEST(snappy_frame_decoder, refuses_chunks_longer_than_golang_snappys_buffer) {
    // 76494 is the most; the error comes from the header, before any body byte.
    for (int type : {0x00, 0x01, 0x80, 0xfe}) {
        bytes header = from_hex("00 cf2a01");  // length 76495
        header[0] = static_cast<std::byte>(type);
        expect_error(from_hex(identifier) + header, snappy_error::chunk_too_long);
    }
    bytes skippable = chunk(0x80, bytes(76494));
    EXPECT_FALSE(decode(from_hex(identifier) + skippable, 1000).ec);
}

TEST(snappy_frame_decoder, refuses_data_chunks_shorter_than_a_checksum) {
    expect_error(from_hex(identifier) + chunk(0x00, bytes(3)), snappy_error::chunk_too_short);
    expect_error(from_hex(identifier) + chunk(0x01, bytes{}), snappy_error::chunk_too_short);
}

TEST(snappy_frame_decoder, empty_data_chunks_carry_nothing) {
    auto const got = decode(from_hex(identifier) + raw_chunk(bytes{}) +
                            data_chunk(0, from_hex("00"), bytes{}) + raw_chunk(text_bytes(2)));
    EXPECT_FALSE(got.ec) << got.ec.message();
    EXPECT_EQ(got.data, text_bytes(2));
}

TEST(snappy_frame_decoder, refuses_blocks_over_65536_bytes) {
    expect_error(from_hex(identifier) + raw_chunk(bytes(65537)), snappy_error::block_too_large);
    EXPECT_FALSE(decode(from_hex(identifier) + raw_chunk(bytes(65536))).ec);
    // A compressed block announcing 65537 bytes (varint 81 80 04).
    expect_error(from_hex(identifier) + data_chunk(0, from_hex("818004 00 61"), bytes(1)),
                 snappy_error::block_too_large);
}

TEST(snappy_frame_decoder, refuses_corrupt_blocks) {
    // A varint longer than 5 bytes, a literal running past the block, a copy before the start.
    for (char const* block : {"ffffffffff0f", "0508616263", "04 0000 0100"}) {
        SCOPED_TRACE(block);
        expect_error(from_hex(identifier) + data_chunk(0, from_hex(block), bytes(4)),
                     snappy_error::corrupt_block);
    }
}

TEST(snappy_frame_decoder, refuses_checksum_mismatches) {
    bytes const data = text_bytes(300);
    bytes bad = from_hex(identifier) + raw_chunk(data);
    bad.back() ^= std::byte{1};
    expect_error(bad, snappy_error::checksum_mismatch);

    smux::kcp::snappy_frame_encoder enc;
    auto const good = enc.encode_chunk(data);
    bytes compressed(good.begin(), good.end());
    ASSERT_EQ(compressed[10], std::byte{0});
    compressed[14] ^= std::byte{0x80};  // the checksum itself
    expect_error(compressed, snappy_error::checksum_mismatch);
}

TEST(snappy_frame_decoder, errors_are_sticky) {
    smux::kcp::snappy_frame_decoder d;
    auto const wire = raw_chunk(text_bytes(4));
    EXPECT_EQ(d.feed(wire), wire.size());
    std::error_code ec;
    EXPECT_TRUE(d.data(ec).empty());
    EXPECT_EQ(ec, snappy_error::missing_identifier);
    EXPECT_TRUE(d.prepare().empty());
    EXPECT_EQ(d.feed(from_hex(identifier)), 0U);
    ec.clear();
    EXPECT_TRUE(d.data(ec).empty());
    EXPECT_EQ(ec, snappy_error::missing_identifier);
    EXPECT_NE(ec.message().find("identifier"), std::string::npos);
}

TEST(snappy_frame_decoder, tells_a_stream_cut_inside_a_chunk) {
    bytes const wire = from_hex(identifier) + raw_chunk(text_bytes(100));
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
        auto const got = decode(std::span(wire).first(cut));
        EXPECT_FALSE(got.ec);
        EXPECT_EQ(got.mid_chunk, cut != 10) << cut;
    }
    EXPECT_FALSE(decode(wire).mid_chunk);
}

TEST(snappy_frame_decoder, memory_stays_at_one_chunk) {
    smux::kcp::snappy_frame_decoder d;
    smux::kcp::snappy_frame_encoder enc;
    bytes wire;
    enc.encode(text_bytes(3 * 1024 * 1024), wire);
    enc.encode(lcg_bytes(1, 1024 * 1024), wire);
    std::span<std::byte const> rest(wire);
    std::size_t out = 0;
    std::byte buf[65536];
    std::error_code ec;
    while (!rest.empty()) {
        rest = rest.subspan(d.feed(rest));
        while (std::size_t n = d.read(buf, ec)) {
            out += n;
        }
        ASSERT_FALSE(ec);
        EXPECT_LE(d.storage_bytes(), 4 + smux::kcp::snappy_max_chunk_body + 65536);
    }
    EXPECT_EQ(out, 4U * 1024 * 1024);
}

}  // namespace
