// A hostile or broken peer: random bytes, truncated segments, lengths past the end, bad
// commands, another conversation, PUSH far outside the window, floods of PUSH and ACK. The
// engine never crashes, counts what it refuses, and its memory stays within the windows.

#include <cstdint>
#include <random>

#include "engine_helpers.hpp"

namespace {

using namespace kcp_engine_test;

engine_config small_windows() {
    engine_config cfg;
    cfg.conv = conv;
    cfg.snd_wnd = 16;
    cfg.rcv_wnd = 24;
    cfg.stream = true;
    return cfg;
}

TEST(kcp_engine_hostile, short_datagram_is_refused_and_counted) {
    engine e(small_windows());
    capture out;
    EXPECT_EQ(e.input(bytes(23), true, 0, out), input_status::too_short);
    EXPECT_EQ(e.input({}, true, 0, out), input_status::too_short);
    EXPECT_EQ(e.stats().input_errors, 2U);
}

TEST(kcp_engine_hostile, a_truncated_or_overlong_segment_ends_the_parse) {
    engine e(small_windows());
    capture out;
    bytes d = datagram({segment(push(0), "hello"), segment(push(1), "world")});
    d.resize(d.size() - 1);  // the second segment's len runs past the end
    EXPECT_EQ(e.input(d, true, 0, out), input_status::malformed);
    EXPECT_EQ(e.readable(), 5U);  // the first segment stands, as in kcp-go
    EXPECT_EQ(e.stats().input_errors, 1U);
    // 24 to 47 bytes left after a segment: the parse just ends (fewer than 24 remain).
    bytes tail = datagram({segment(push(1), "w"), bytes(23, std::byte{0x51})});
    EXPECT_EQ(e.input(tail, true, 1, out), input_status::ok);
    EXPECT_EQ(e.readable(), 6U);
}

TEST(kcp_engine_hostile, a_bad_command_ends_the_parse) {
    engine e(small_windows());
    capture out;
    segment_header bad = push(1);
    bad.cmd = static_cast<command>(85);
    EXPECT_EQ(e.input(datagram({segment(push(0), "a"), segment(bad, "b"), segment(push(2), "c")}),
                      true, 0, out),
              input_status::malformed);
    EXPECT_EQ(e.readable(), 1U);
    EXPECT_EQ(e.stats().rcv_buf, 0U);  // sn 2 never seen
}

TEST(kcp_engine_hostile, another_conversation_ends_the_parse_without_rtt_or_flush) {
    engine e(small_windows());
    capture out;
    e.send(to_bytes("x"));
    e.flush(0, out);  // congestion window 0: nothing yet (kcp-go's start)
    e.flush(1, out);
    ASSERT_EQ(e.stats().snd_buf, 1U);
    out.datagrams.clear();
    segment_header other = push(1);
    other.conv = conv + 1;
    // ACK + una for our segment, then a foreign segment: the una stands, the RTT sample and
    // the flush kcp-go does after a full parse do not happen.
    auto const st = e.input(datagram({segment(ack(0, 0, 1)), segment(other, "b")}), true, 50, out);
    EXPECT_EQ(st, input_status::wrong_conv);
    EXPECT_EQ(e.wait_snd(), 0U);
    EXPECT_EQ(e.stats().srtt, 0);
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(e.input(segment(other, "b"), true, 60, out), input_status::wrong_conv);
    EXPECT_EQ(e.readable(), 0U);
    EXPECT_EQ(e.stats().input_errors, 2U);
}

TEST(kcp_engine_hostile, push_outside_the_window_is_neither_stored_nor_acked) {
    engine e(small_windows());
    capture out;
    EXPECT_EQ(e.input(datagram({segment(push(24), "far"), segment(push(0x80000000U), "x"),
                                segment(push(0xffffffffU), "behind")}),
                      true, 0, out),
              input_status::ok);
    EXPECT_EQ(e.stats().rcv_buf, 0U);
    EXPECT_EQ(e.stats().pending_acks, 1U);  // only 0xffffffff (behind rcv_nxt) is acked
    EXPECT_EQ(e.stats().duplicate_segments, 3U);
    EXPECT_EQ(e.input(segment(push(23), "edge"), true, 0, out), input_status::ok);
    EXPECT_EQ(e.stats().rcv_buf, 1U);  // the window's last slot
}

TEST(kcp_engine_hostile, random_bytes_never_crash_and_memory_stays_bounded) {
    std::mt19937 rng(2024);
    engine e(small_windows());
    std::size_t sent = 0;
    auto sink = [&](std::span<std::byte> d) {
        EXPECT_LE(d.size(), e.config().mtu);
        ++sent;
    };
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 1600);
    for (std::uint32_t i = 0; i < 6000; ++i) {
        bytes d(length(rng));
        for (auto& b : d) {
            b = static_cast<std::byte>(byte(rng));
        }
        if (i % 2 == 0 && d.size() >= 24) {  // our conv and a valid command: parse further
            bytes const h = segment({.conv = conv,
                                     .cmd = static_cast<command>(81 + i / 2 % 4),
                                     .sn = static_cast<std::uint32_t>(byte(rng) % 40)});
            std::copy_n(h.begin(), 20, d.begin());
        }
        e.input(d, i % 3 != 0, i, sink);
        if (i % 7 == 0) {
            e.update(i, sink);
        }
        if (i % 11 == 0) {
            std::array<std::byte, 3000> buf{};
            e.recv(buf);
        }
        if (i % 13 == 0) {
            e.send(bytes(byte(rng) * 10 + 1));
        }
        expect_bounded(e);
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    EXPECT_GT(e.stats().input_errors, 0U);
    EXPECT_GT(sent, 0U);
}

TEST(kcp_engine_hostile, push_flood_within_the_window_is_bounded) {
    // Many distinct sn within the window, nobody reading, and duplicates: ACKs are queued for
    // each (kcp-go queues without limit until the next flush); the engine sends them early
    // instead of growing.
    engine e(small_windows());
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint32_t> sn(0, 2 * 24);
    std::size_t acks_out = 0;
    auto sink = [&](std::span<std::byte> d) {
        acks_out += of(headers({bytes(d.begin(), d.end())}), command::ack).size();
    };
    std::uint64_t pushes = 0;
    for (int i = 0; i < 2000; ++i) {
        bytes d;
        for (int k = 0; k < 50; ++k) {
            d += segment(push(sn(rng), static_cast<std::uint32_t>(i)), "p");
        }
        pushes += 50;
        e.input(d, true, static_cast<std::uint32_t>(i), sink);
        expect_bounded(e);
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    auto const s = e.stats();
    EXPECT_EQ(s.rcv_queue, 24U);  // full: nobody reads
    EXPECT_GT(s.forced_ack_flushes, 0U);
    EXPECT_GT(acks_out, 0U);
    EXPECT_EQ(s.segments_in, pushes);
}

TEST(kcp_engine_hostile, ack_flood_with_random_sn_is_harmless) {
    engine e(small_windows());
    capture out;
    e.send(bytes(16 * e.mss()));
    e.flush(0, out);
    std::mt19937 rng(3);
    std::uniform_int_distribution<std::uint32_t> any;
    for (int i = 0; i < 2000; ++i) {
        bytes d;
        for (int k = 0; k < 60; ++k) {
            d += segment(ack(any(rng) % 64, any(rng), 0));
        }
        e.input(d, true, static_cast<std::uint32_t>(i), out);
        e.update(static_cast<std::uint32_t>(i), out);
        expect_bounded(e);
        out.datagrams.clear();
    }
    EXPECT_LE(e.stats().rto, 60000U);
    EXPECT_GE(e.stats().rto, 100U);
}

}  // namespace
