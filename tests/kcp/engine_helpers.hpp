// Helpers shared by the KCP engine tests: capture of sent datagrams, segment builders and
// decoders.

#ifndef SMUX_TESTS_KCP_ENGINE_HELPERS_HPP
#define SMUX_TESTS_KCP_ENGINE_HELPERS_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <smux/kcp/engine.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "support/wire.hpp"

namespace kcp_engine_test {

using namespace smux_wire;
using smux::kcp::command;
using smux::kcp::engine;
using smux::kcp::engine_config;
using smux::kcp::input_status;
using smux::kcp::segment_header;
using smux::kcp::segment_header_size;

inline constexpr std::uint32_t conv = 0x01020304;

/// The windows' bounds (engine.hpp): rcv_wnd out-of-order and rcv_wnd in-order segments,
/// snd_wnd to send, 2 rcv_wnd pending ACKs, and the payload blocks those hold.
inline void expect_bounded(engine const& e) {
    auto const s = e.stats();
    auto const& c = e.config();
    EXPECT_LE(s.rcv_buf, c.rcv_wnd);
    EXPECT_LE(s.rcv_queue, c.rcv_wnd);
    EXPECT_LE(s.snd_queue + s.snd_buf, c.snd_wnd);
    EXPECT_LE(s.pending_acks, 2U * c.rcv_wnd);
    EXPECT_LE(s.pooled_blocks, c.snd_wnd + 2U * c.rcv_wnd + 1U);
}

/// Every datagram an engine sent, reserve included.
struct capture {
    std::vector<bytes> datagrams;
    void operator()(std::span<std::byte> d) { datagrams.emplace_back(d.begin(), d.end()); }
};

inline bytes segment(segment_header h, std::string_view payload = {}) {
    h.len = static_cast<std::uint32_t>(payload.size());
    bytes out(segment_header_size);
    smux::kcp::encode_segment_header(
        h, std::span<std::byte, segment_header_size>(out.data(), out.size()));
    out += to_bytes(payload);
    return out;
}

inline segment_header push(std::uint32_t sn, std::uint32_t ts = 0, std::uint32_t una = 0,
                           std::uint16_t wnd = 32) {
    return {.conv = conv, .cmd = command::push, .wnd = wnd, .ts = ts, .sn = sn, .una = una};
}

inline segment_header ack(std::uint32_t sn, std::uint32_t ts, std::uint32_t una = 0,
                          std::uint16_t wnd = 32) {
    return {.conv = conv, .cmd = command::ack, .wnd = wnd, .ts = ts, .sn = sn, .una = una};
}

/// The segments of datagrams (no reserve), decoded.
inline std::vector<segment_header> headers(std::vector<bytes> const& datagrams,
                                           std::size_t reserve = 0) {
    std::vector<segment_header> out;
    for (bytes const& d : datagrams) {
        smux::kcp::segment_reader r(std::span<std::byte const>(d).subspan(reserve));
        while (auto s = r.next()) {
            out.push_back(s->header);
        }
        EXPECT_FALSE(r.malformed());
    }
    return out;
}

inline std::vector<segment_header> of(std::vector<segment_header> const& hs, command c) {
    std::vector<segment_header> out;
    for (auto const& h : hs) {
        if (h.cmd == c) {
            out.push_back(h);
        }
    }
    return out;
}

/// A concatenation of segments: one datagram's KCP bytes.
inline bytes datagram(std::initializer_list<bytes> segments) {
    bytes out;
    for (bytes const& s : segments) {
        out += s;
    }
    return out;
}

}  // namespace kcp_engine_test

#endif
