// KCP segment headers against KCP.md: the layout of §4 and vector (b), and the parse rules of
// kcp-go's Input for one datagram (stop under 24 bytes; abandon at a bad command or length).

#include <gtest/gtest.h>

#include <array>
#include <smux/kcp/segment.hpp>
#include <vector>

#include "kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using smux::kcp::command;
using smux::kcp::segment_header;
using smux::kcp::segment_header_size;
using smux::kcp::segment_reader;

/// KCP.md §6 (b): conv 0x01020304, PUSH, frg 0, wnd 512, ts 0x0a0b0c0d, sn 0, una 0, "hello".
segment_header const vector_b{.conv = 0x01020304,
                              .cmd = command::push,
                              .frg = 0,
                              .wnd = 512,
                              .ts = 0x0a0b0c0d,
                              .sn = 0,
                              .una = 0,
                              .len = 5};

bytes encode(segment_header const& h, std::string_view payload = {}) {
    bytes out(segment_header_size);
    smux::kcp::encode_segment_header(
        h, std::span<std::byte, segment_header_size>(out.data(), out.size()));
    out += to_bytes(payload);
    return out;
}

TEST(kcp_segment, encodes_vector_b_as_kcp_go_does) {
    EXPECT_EQ(to_hex(encode(vector_b, "hello")), to_hex(from_hex(kcp_vectors::push_b)));
}

TEST(kcp_segment, every_field_lands_at_its_offset) {
    segment_header const h{.conv = 0xa1a2a3a4,
                           .cmd = command::window_tell,
                           .frg = 0xb1,
                           .wnd = 0xc1c2,
                           .ts = 0xd1d2d3d4,
                           .sn = 0xe1e2e3e4,
                           .una = 0xf1f2f3f4,
                           .len = 0};
    EXPECT_EQ(to_hex(encode(h)),
              "a4a3a2a1"
              "54"
              "b1"
              "c2c1"
              "d4d3d2d1"
              "e4e3e2e1"
              "f4f3f2f1"
              "00000000");
}

TEST(kcp_segment, reads_vector_b_back) {
    bytes const wire = from_hex(kcp_vectors::push_b);
    segment_reader r(wire);
    auto const s = r.next();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->header, vector_b);
    EXPECT_EQ(to_string(s->payload), "hello");
    EXPECT_FALSE(r.next());
    EXPECT_FALSE(r.malformed());
}

TEST(kcp_segment, reads_segments_packed_back_to_back) {
    segment_header ack = vector_b;
    ack.cmd = command::ack;
    ack.len = 0;
    ack.sn = 7;
    segment_header push = vector_b;
    push.sn = 8;
    push.len = 3;
    bytes const wire = encode(ack) + encode(push, "abc") + encode(ack);
    segment_reader r(wire);
    std::vector<segment_header> got;
    while (auto s = r.next()) {
        got.push_back(s->header);
    }
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0], ack);
    EXPECT_EQ(got[1], push);
    EXPECT_EQ(got[2], ack);
    EXPECT_FALSE(r.malformed());
}

TEST(kcp_segment, fewer_than_24_bytes_left_end_the_datagram_quietly) {
    bytes const wire = encode(vector_b, "hello") + bytes(23, std::byte{0x51});
    segment_reader r(wire);
    EXPECT_TRUE(r.next());
    EXPECT_FALSE(r.next());
    EXPECT_FALSE(r.malformed()) << "kcp-go stops there without complaint";
}

TEST(kcp_segment, an_unknown_command_abandons_the_rest) {
    for (unsigned const cmd : {0U, 80U, 85U, 255U}) {
        bytes bad = encode(vector_b, "hello");
        bad[4] = static_cast<std::byte>(cmd);
        bytes const wire = encode(vector_b, "hello") + bad + encode(vector_b, "hello");
        segment_reader r(wire);
        EXPECT_TRUE(r.next());
        EXPECT_FALSE(r.next()) << "cmd " << cmd;
        EXPECT_TRUE(r.malformed());
        EXPECT_FALSE(r.next()) << "nothing after a malformed segment";
    }
}

TEST(kcp_segment, a_length_past_the_end_abandons_the_rest) {
    segment_header h = vector_b;
    h.len = 6;  // one byte more than follows
    bytes const wire = encode(h, "hello");
    segment_reader r(wire);
    EXPECT_FALSE(r.next());
    EXPECT_TRUE(r.malformed());

    h.len = 0xffffffff;  // no overflow in the bound check
    bytes const huge = encode(h, "hello");
    segment_reader r2(huge);
    EXPECT_FALSE(r2.next());
    EXPECT_TRUE(r2.malformed());
}

}  // namespace
