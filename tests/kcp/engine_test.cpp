// The KCP engine against kcp-go's behaviour (kcp.go, KCP.md §4): wire bytes, input rules,
// flush rules, the RTO filter and bounded memory under hostile input. Time is a variable.

#include "engine_helpers.hpp"
#include "kcp_vectors.hpp"

namespace {

using namespace kcp_engine_test;

engine_config nc_config() {
    engine_config cfg;
    cfg.conv = conv;
    cfg.nc = true;
    return cfg;
}

TEST(kcp_engine, first_push_is_vector_b) {
    engine_config cfg = nc_config();
    cfg.rcv_wnd = 512;
    engine e(cfg);
    EXPECT_EQ(e.send(to_bytes("hello")), 5U);
    capture out;
    e.flush(0x0a0b0c0d, out);
    ASSERT_EQ(out.datagrams.size(), 1U);
    EXPECT_EQ(to_hex(out.datagrams[0]), kcp_vectors::push_b);
}

TEST(kcp_engine, with_congestion_control_the_first_flush_sends_nothing_then_one_segment) {
    // kcp-go starts cwnd at 0: the first flush moves no data and sets cwnd to 1.
    engine_config cfg = nc_config();
    cfg.nc = false;
    engine e(cfg);
    e.send(bytes(3 * e.mss()));
    capture out;
    e.flush(0, out);
    EXPECT_TRUE(of(headers(out.datagrams), command::push).empty());
    EXPECT_EQ(e.stats().cwnd, 1U);
    e.flush(10, out);
    EXPECT_EQ(of(headers(out.datagrams), command::push).size(), 1U);
}

TEST(kcp_engine, datagrams_respect_mtu_and_leave_the_reserve_untouched) {
    engine_config cfg = nc_config();
    cfg.mtu = 200;
    cfg.header_reserve = 28;
    cfg.snd_wnd = 64;
    cfg.rcv_wnd = 64;
    engine e(cfg);
    EXPECT_EQ(e.mss(), 200U - 24U - 28U);
    // The peer sends 40 PUSH segments: 40 ACKs to send besides our own data.
    bytes in;
    for (std::uint32_t sn = 0; sn < 40; ++sn) {
        in += segment(push(sn, 0, 0, 64), "x");
    }
    EXPECT_EQ(e.input(in, true, 0, capture{}), input_status::ok);
    EXPECT_EQ(e.send(bytes(10 * e.mss() + 7, std::byte{0x5a})), 10 * e.mss() + 7);
    std::size_t pushed = 0;
    std::size_t count = 0;
    auto sink = [&](std::span<std::byte> d) {
        ++count;
        EXPECT_LE(d.size(), 200U);
        EXPECT_GT(d.size(), 28U);
        for (std::size_t i = 0; i < 28; ++i) {
            EXPECT_EQ(d[i], std::byte{0xee}) << "byte " << i;  // what the last call left
        }
        smux::kcp::segment_reader r(std::span<std::byte const>(d).subspan(28));
        while (auto sv = r.next()) {
            pushed += sv->header.cmd == command::push ? sv->payload.size() : 0;
        }
        EXPECT_FALSE(r.malformed());
        std::fill_n(d.begin(), 28, std::byte{0xee});
    };
    // The first datagram's reserve is the buffer's initial zeroes: accept them once.
    bool first = true;
    auto first_sink = [&](std::span<std::byte> d) {
        if (first) {
            first = false;
            std::fill_n(d.begin(), 28, std::byte{0xee});
        }
        sink(d);
    };
    e.flush(0, first_sink);
    EXPECT_EQ(pushed, 10 * e.mss() + 7);
    EXPECT_GT(count, 3U);
}

TEST(kcp_engine, send_takes_no_more_than_the_send_window) {
    engine_config cfg = nc_config();
    cfg.snd_wnd = 4;
    engine e(cfg);
    bytes const big(100000, std::byte{1});
    std::size_t const taken = e.send(big);
    EXPECT_EQ(taken, 4 * e.mss());
    EXPECT_EQ(e.wait_snd(), 4U);
    EXPECT_FALSE(e.can_send());
    EXPECT_EQ(e.send(big), 0U);
    // The peer acks everything (una 4): room again.
    capture out;
    e.flush(0, out);
    e.input(segment(ack(3, 0, 4)), true, 5, out);
    EXPECT_EQ(e.wait_snd(), 0U);
    EXPECT_TRUE(e.can_send());
}

TEST(kcp_engine, send_also_waits_for_the_peers_window) {
    engine e(nc_config());
    capture out;
    e.input(segment({.conv = conv, .cmd = command::window_tell, .wnd = 2}), true, 0, out);
    EXPECT_EQ(e.send(bytes(5 * e.mss())), 2 * e.mss());
    EXPECT_FALSE(e.can_send());
}

TEST(kcp_engine, stream_mode_fills_the_last_unsent_segment) {
    engine_config cfg = nc_config();
    cfg.stream = true;
    engine s(cfg);
    s.send(to_bytes("ab"));
    s.send(to_bytes("cd"));
    capture out;
    s.flush(0, out);
    auto pushes = of(headers(out.datagrams), command::push);
    ASSERT_EQ(pushes.size(), 1U);
    EXPECT_EQ(pushes[0].len, 4U);
    EXPECT_EQ(pushes[0].frg, 0U);

    engine m(nc_config());  // message mode: one segment per write
    m.send(to_bytes("ab"));
    m.send(to_bytes("cd"));
    capture out2;
    m.flush(0, out2);
    EXPECT_EQ(of(headers(out2.datagrams), command::push).size(), 2U);
}

TEST(kcp_engine, acks_below_rcv_nxt_are_suppressed_except_the_last) {
    engine e(nc_config());
    capture out;
    e.input(
        datagram({segment(push(0, 10), "a"), segment(push(1, 11), "b"), segment(push(2, 12), "c")}),
        true, 20, out);
    EXPECT_TRUE(out.datagrams.empty());  // no ack_nodelay, una did not move
    EXPECT_EQ(e.stats().pending_acks, 3U);
    e.flush(30, out);
    auto acks = of(headers(out.datagrams), command::ack);
    ASSERT_EQ(acks.size(), 1U);
    EXPECT_EQ(acks[0].sn, 2U);
    EXPECT_EQ(acks[0].ts, 12U);
    EXPECT_EQ(acks[0].una, 3U);
    EXPECT_EQ(acks[0].wnd, 32U - 3U);

    // Out of order: sn 5 and 4 are at or above rcv_nxt (3), both acked; sn 1 (a duplicate)
    // is acked only because it is last.
    out.datagrams.clear();
    e.input(
        datagram({segment(push(5, 40), "f"), segment(push(4, 41), "e"), segment(push(1, 42), "b")}),
        true, 50, out);
    e.flush(60, out);
    acks = of(headers(out.datagrams), command::ack);
    ASSERT_EQ(acks.size(), 3U);
    EXPECT_EQ(acks[0].sn, 5U);
    EXPECT_EQ(acks[1].sn, 4U);
    EXPECT_EQ(acks[2].sn, 1U);
    EXPECT_EQ(e.stats().duplicate_segments, 1U);
}

TEST(kcp_engine, ack_nodelay_sends_acks_from_input) {
    engine_config cfg = nc_config();
    cfg.ack_nodelay = true;
    engine e(cfg);
    capture out;
    e.input(segment(push(0, 7), "a"), true, 9, out);
    auto hs = headers(out.datagrams);
    ASSERT_EQ(hs.size(), 1U);
    EXPECT_EQ(hs[0].cmd, command::ack);
    EXPECT_EQ(hs[0].ts, 7U);
}

TEST(kcp_engine, una_is_taken_from_any_segment_and_flushes_at_once) {
    engine e(nc_config());
    capture out;
    e.send(bytes(3 * e.mss()));
    e.flush(0, out);
    ASSERT_EQ(e.stats().snd_buf, 3U);
    out.datagrams.clear();
    // A PUSH (no ACK segment) whose una says the peer has sn 0..2.
    e.input(segment(push(0, 5, 3), "z"), true, 10, out);
    EXPECT_EQ(e.stats().snd_buf, 0U);
    EXPECT_EQ(e.wait_snd(), 0U);
    // una advanced: the engine flushed from input, ACKing the PUSH.
    auto acks = of(headers(out.datagrams), command::ack);
    ASSERT_EQ(acks.size(), 1U);
    EXPECT_EQ(acks[0].sn, 0U);
}

TEST(kcp_engine, remote_window_comes_only_from_regular_datagrams) {
    engine e(nc_config());
    capture out;
    e.input(segment({.conv = conv, .cmd = command::window_tell, .wnd = 0}), false, 0, out);
    EXPECT_EQ(e.stats().rmt_wnd, 32U);
    e.input(segment({.conv = conv, .cmd = command::window_tell, .wnd = 7}), true, 0, out);
    EXPECT_EQ(e.stats().rmt_wnd, 7U);
}

TEST(kcp_engine, rto_follows_kcp_go_filter) {
    // KCP.md §4: first sample srtt = rtt, rttvar = rtt/2; then srtt += delta>>3 and
    // rttvar += (|delta| - rttvar) >> (rtt < srtt - rttvar ? 5 : 2);
    // rto = clamp(srtt + max(interval, 4 rttvar), minrto, 60000).
    engine e(nc_config());  // interval 100, minrto 100
    capture out;
    EXPECT_EQ(e.stats().rto, 200U);
    e.input(segment(ack(0, 1000)), true, 1100, out);
    EXPECT_EQ(e.stats().srtt, 100);
    EXPECT_EQ(e.stats().rttvar, 50);
    EXPECT_EQ(e.stats().rto, 300U);
    e.input(segment(ack(0, 2000)), true, 2060, out);  // delta -40
    EXPECT_EQ(e.stats().srtt, 95);
    EXPECT_EQ(e.stats().rttvar, 47);  // 50 + ((40 - 50) >> 2)
    EXPECT_EQ(e.stats().rto, 95U + 188U);
    e.input(segment(ack(0, 3000)), true, 3010, out);  // 10 < 95 - 11 - 47: gain 1/32
    EXPECT_EQ(e.stats().srtt, 84);                    // 95 + (-85 >> 3)
    EXPECT_EQ(e.stats().rttvar, 48);                  // 47 + ((85 - 47) >> 5)
    EXPECT_EQ(e.stats().rto, 84U + 192U);
    e.input(segment(ack(0, 4000)), true, 3990, out);  // ts in the future: no sample
    EXPECT_EQ(e.stats().srtt, 84);
}

TEST(kcp_engine, rto_is_clamped_between_minrto_and_60_s) {
    engine_config cfg = nc_config();
    cfg.nodelay = true;
    cfg.interval = 10;
    engine fast(cfg);
    capture out;
    fast.input(segment(ack(0, 100)), true, 101, out);  // srtt 1, rttvar 0: 1 + 10 < 30
    EXPECT_EQ(fast.stats().rto, 30U);
    cfg.nodelay = false;
    engine slow(cfg);
    slow.input(segment(ack(0, 100)), true, 101, out);
    EXPECT_EQ(slow.stats().rto, 100U);
    slow.input(segment(ack(0, 0)), true, 90000, out);
    EXPECT_EQ(slow.stats().rto, 60000U);
}

TEST(kcp_engine, one_rtt_sample_per_datagram_from_its_last_ack_and_none_when_irregular) {
    engine e(nc_config());
    capture out;
    e.input(datagram({segment(ack(0, 1000)), segment(ack(0, 1050))}), true, 1100, out);
    EXPECT_EQ(e.stats().srtt, 50);
    engine f(nc_config());
    f.input(segment(ack(0, 1000)), false, 1100, out);
    EXPECT_EQ(f.stats().srtt, 0);
    EXPECT_EQ(f.stats().rto, 200U);
}

/// An engine with four segments in flight, sent at time 0.
struct four_in_flight {
    explicit four_in_flight(std::uint32_t resend) : e(make(resend)) {
        e.send(bytes(4 * e.mss()));
        capture out;
        e.flush(0, out);
        EXPECT_EQ(of(headers(out.datagrams), command::push).size(), 4U);
    }
    static engine_config make(std::uint32_t resend) {
        engine_config cfg = nc_config();
        cfg.resend = resend;
        return cfg;
    }
    engine e;
};

TEST(kcp_engine, fast_resend_after_resend_fast_acks) {
    four_in_flight f(2);
    capture out;
    f.e.input(datagram({segment(ack(1, 0)), segment(ack(2, 0))}), true, 10, out);
    EXPECT_TRUE(out.datagrams.empty());
    f.e.flush(20, out);
    auto pushes = of(headers(out.datagrams), command::push);
    ASSERT_EQ(pushes.size(), 1U);
    EXPECT_EQ(pushes[0].sn, 0U);
    EXPECT_EQ(pushes[0].ts, 20U);
    EXPECT_EQ(f.e.stats().fast_retransmits, 1U);
    EXPECT_EQ(f.e.stats().retransmits, 1U);
}

TEST(kcp_engine, one_fast_ack_is_not_enough_when_new_data_goes_out) {
    four_in_flight f(2);
    capture out;
    f.e.input(segment(ack(1, 0)), true, 10, out);
    f.e.send(bytes(10));
    f.e.flush(20, out);
    auto pushes = of(headers(out.datagrams), command::push);
    ASSERT_EQ(pushes.size(), 1U);
    EXPECT_EQ(pushes[0].sn, 4U);  // only the new segment
    EXPECT_EQ(f.e.stats().retransmits, 0U);
}

TEST(kcp_engine, early_retransmit_when_no_new_segment_goes_out) {
    four_in_flight f(0);  // fast resend off: early retransmit still works
    capture out;
    f.e.input(segment(ack(1, 0)), true, 10, out);
    f.e.flush(20, out);
    auto pushes = of(headers(out.datagrams), command::push);
    ASSERT_EQ(pushes.size(), 1U);
    EXPECT_EQ(pushes[0].sn, 0U);
    EXPECT_EQ(f.e.stats().early_retransmits, 1U);
}

TEST(kcp_engine, fast_acks_count_only_segments_sent_before_the_acked_one) {
    four_in_flight f(1);
    capture out;
    f.e.flush(300, out);  // RTO (200): all four resent with ts 300
    EXPECT_EQ(f.e.stats().timeout_retransmits, 4U);
    out.datagrams.clear();
    f.e.input(segment(ack(1, 0)), true, 310, out);  // echoes the old ts 0 < 300
    f.e.flush(320, out);
    EXPECT_TRUE(of(headers(out.datagrams), command::push).empty());
}

std::vector<std::uint32_t> resend_times(bool nodelay) {
    engine_config cfg = nc_config();
    cfg.nodelay = nodelay;
    engine e(cfg);
    e.send(to_bytes("x"));
    std::vector<std::uint32_t> times;
    for (std::uint32_t t = 0; t <= 2000; ++t) {
        capture out;
        e.flush(t, out);
        if (!of(headers(out.datagrams), command::push).empty()) {
            times.push_back(t);
        }
    }
    return times;
}

TEST(kcp_engine, rto_back_off_adds_rx_rto_or_half_of_it_with_nodelay) {
    // rx_rto 200 (no sample): kcp-go adds 200 per timeout; nodelay adds 100.
    EXPECT_EQ(resend_times(false), (std::vector<std::uint32_t>{0, 200, 600, 1200, 2000}));
    EXPECT_EQ(resend_times(true), (std::vector<std::uint32_t>{0, 200, 500, 900, 1400, 2000}));
}

TEST(kcp_engine, window_probe_backs_off_from_7_s_and_stops_when_the_peer_opens) {
    engine e(nc_config());
    capture out;
    e.input(segment({.conv = conv, .cmd = command::window_tell, .wnd = 0}), true, 0, out);
    e.send(to_bytes("waiting"));  // refused: the peer has no room
    EXPECT_FALSE(e.can_send());
    std::vector<std::uint32_t> asks;
    for (std::uint32_t t = 0; t <= 400000; t += 10) {
        capture o;
        e.flush(t, o);
        if (!of(headers(o.datagrams), command::window_ask).empty()) {
            asks.push_back(t);
        }
    }
    // Asked at the first flush at or after 7000, then after waits of 10500, 15750, ...
    // (x1.5) capped at 120000, counted from the flush that asked.
    std::vector<std::uint32_t> expected;
    std::uint32_t wait = 7000;
    std::uint32_t due = 7000;
    while (due <= 400000) {
        std::uint32_t const at = (due + 9) / 10 * 10;  // flushes run every 10 ms
        expected.push_back(at);
        wait = std::min(wait + wait / 2, 120000U);
        due = at + wait;
    }
    EXPECT_EQ(asks, expected);

    e.input(segment({.conv = conv, .cmd = command::window_tell, .wnd = 16}), true, 400001, out);
    EXPECT_TRUE(e.can_send());
    EXPECT_EQ(e.send(to_bytes("go")), 2U);
    capture o;
    e.flush(400002, o);
    EXPECT_EQ(of(headers(o.datagrams), command::push).size(), 1U);
    EXPECT_TRUE(of(headers(o.datagrams), command::window_ask).empty());
}

TEST(kcp_engine, window_ask_is_answered_with_window_tell) {
    engine e(nc_config());
    capture out;
    e.input(segment({.conv = conv, .cmd = command::window_ask, .wnd = 0}), true, 0, out);
    e.flush(1, out);
    auto tells = of(headers(out.datagrams), command::window_tell);
    ASSERT_EQ(tells.size(), 1U);
    EXPECT_EQ(tells[0].wnd, 32U);
}

TEST(kcp_engine, reading_a_full_receive_queue_tells_the_window) {
    engine_config cfg = nc_config();
    cfg.rcv_wnd = 2;
    engine e(cfg);
    capture out;
    e.input(datagram({segment(push(0, 0, 0), "ab"), segment(push(1, 0, 0), "cd")}), true, 0, out);
    e.flush(1, out);
    auto acks = of(headers(out.datagrams), command::ack);
    ASSERT_FALSE(acks.empty());
    EXPECT_EQ(acks.back().wnd, 0U);
    EXPECT_EQ(e.readable(), 4U);
    out.datagrams.clear();
    std::byte one[1];
    EXPECT_EQ(e.recv(one), 1U);  // takes segment 0 out of the queue: a slot is free
    EXPECT_EQ(e.readable(), 3U);
    e.flush(2, out);
    auto tells = of(headers(out.datagrams), command::window_tell);
    ASSERT_EQ(tells.size(), 1U);
    EXPECT_EQ(tells[0].wnd, 1U);
}

TEST(kcp_engine, recv_and_peek_return_bytes_in_order_across_segments) {
    engine e(nc_config());
    capture out;
    e.input(datagram({segment(push(1, 0), "world"), segment(push(0, 0), "hello ")}), true, 0, out);
    std::string s(11, '\0');
    EXPECT_EQ(e.peek(std::as_writable_bytes(std::span(s))), 11U);
    EXPECT_EQ(s, "hello world");
    std::string part(4, '\0');
    EXPECT_EQ(e.recv(std::as_writable_bytes(std::span(part))), 4U);
    EXPECT_EQ(part, "hell");
    std::string rest(20, '\0');
    EXPECT_EQ(e.recv(std::as_writable_bytes(std::span(rest))), 7U);
    EXPECT_EQ(rest.substr(0, 7), "o world");
    EXPECT_EQ(e.readable(), 0U);
    EXPECT_EQ(e.stats().bytes_received, 11U);
}

TEST(kcp_engine, update_schedules_within_interval_and_sooner_for_a_resend) {
    engine_config cfg = nc_config();
    cfg.interval = 100;
    engine e(cfg);
    capture out;
    EXPECT_EQ(e.check(5), 5U);  // never updated: due now
    EXPECT_EQ(e.update(5, out), 105U);
    EXPECT_EQ(e.check(50), 105U);
    EXPECT_EQ(e.check(200), 200U);  // overdue
    e.send(to_bytes("x"));
    e.flush(1000, out);  // first send at 1000, resend due at 1200
    EXPECT_EQ(e.update(1150, out), 1200U);
}

TEST(kcp_engine, config_limits_and_mode_presets) {
    engine_config cfg;
    EXPECT_TRUE(smux::kcp::validate(cfg).empty());
    cfg.mtu = 49;
    EXPECT_THROW(engine{cfg}, smux::kcp::engine_config_error);
    cfg.mtu = 1501;
    EXPECT_NE(smux::kcp::validate(cfg).find("mtu"), std::string::npos);
    cfg.mtu = 1350;
    cfg.header_reserve = 1350 - 24;
    EXPECT_NE(smux::kcp::validate(cfg).find("header_reserve"), std::string::npos);
    cfg.header_reserve = 28;
    EXPECT_EQ(engine(cfg).mss(), 1298U);  // KCP.md §4: kcptun defaults
    cfg.rcv_wnd = 65536;
    EXPECT_NE(smux::kcp::validate(cfg).find("rcv_wnd"), std::string::npos);
    cfg.rcv_wnd = 32;
    cfg.interval = 1;
    EXPECT_EQ(engine(cfg).config().interval, 10U);
    cfg.interval = 9999;
    EXPECT_EQ(engine(cfg).config().interval, 5000U);

    struct row {
        char const* name;
        bool nodelay;
        std::uint32_t interval;
    };
    for (row r : {row{"normal", false, 40}, row{"fast", false, 30}, row{"fast2", true, 20},
                  row{"fast3", true, 10}}) {
        auto m = smux::kcp::parse_mode(r.name);
        ASSERT_TRUE(m.has_value()) << r.name;
        engine_config c;
        smux::kcp::apply_mode(c, *m);
        EXPECT_EQ(c.nodelay, r.nodelay) << r.name;
        EXPECT_EQ(c.interval, r.interval) << r.name;
        EXPECT_EQ(c.resend, 2U) << r.name;
        EXPECT_TRUE(c.nc) << r.name;
    }
    EXPECT_FALSE(smux::kcp::parse_mode("manual").has_value());
}

}  // namespace
