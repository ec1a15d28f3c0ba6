// The engine against the exchanges of docs/protocol.md §12, stream-id allocation, and the
// receiver rules for SYN, PSH and FIN (docs/protocol.md §3 to §5).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <smux/core/session.hpp>
#include <smux/error.hpp>
#include <string>
#include <vector>

#include "support/core_frames.hpp"
#include "support/session_access.hpp"

namespace {

using namespace core_test;
using smux::error;
using smux::core::session;
using smux::core::session_access;
using status = read_result::status;

// ---- section 12 vectors produced and consumed by the engine

class exchange : public ::testing::TestWithParam<int> {};

TEST_P(exchange, client_open_write_fin_bytes_match_go) {
    int const v = GetParam();
    session client(role::client, make_config(v), t0);
    auto const id = open(client);
    ASSERT_EQ(id, 3U);
    borrowed_write w(to_bytes("hello"));
    ASSERT_EQ(w.submit(client, *id).accepted, 5U);
    ASSERT_FALSE(client.close_write(*id));
    // V1 V2 V5 (v1) and V12 V13 V18 (v2).
    std::string const expected = v == 1 ? "0100000003000000"
                                          "0102050003000000"
                                          "68656c6c6f"
                                          "0101000003000000"
                                        : "0200000003000000"
                                          "0202050003000000"
                                          "68656c6c6f"
                                          "0201000003000000";
    EXPECT_EQ(to_hex(take_output(client)), expected);
    EXPECT_TRUE(client.is_alive());
}

TEST_P(exchange, client_frames_come_one_call_at_a_time) {
    int const v = GetParam();
    std::string const vh = v == 1 ? "01" : "02";
    session client(role::client, make_config(v), t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    EXPECT_EQ(to_hex(take_output(client)), vh + "00000003000000");
    borrowed_write w(to_bytes("hello"));
    ASSERT_EQ(w.submit(client, *id).accepted, 5U);
    EXPECT_EQ(to_hex(take_output(client)), vh + "02050003000000" + "68656c6c6f");
    auto const evs = take_events(client);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::write_done);
    EXPECT_EQ(evs[0].id, 3U);
    EXPECT_EQ(evs[0].bytes, 5U);
    ASSERT_FALSE(client.close_write(*id));
    EXPECT_EQ(to_hex(take_output(client)), vh + "01000003000000");
    EXPECT_TRUE(take_output(client).empty());
}

TEST_P(exchange, full_exchange_between_two_engines_matches_the_capture) {
    int const v = GetParam();
    auto cfg = make_config(v);
    session client(role::client, cfg, t0);
    session server(role::server, cfg, t0);

    auto const id = open(client);
    ASSERT_EQ(id, 3U);
    borrowed_write hello(to_bytes("hello"));
    ASSERT_EQ(hello.submit(client, *id).accepted, 5U);
    bytes const c1 = take_output(client);
    EXPECT_EQ(c1, v == 1 ? from_hex("01 00 0000 03000000 01 02 0500 03000000 68656c6c6f")
                         : from_hex("02 00 0000 03000000 02 02 0500 03000000 68656c6c6f"));
    ASSERT_EQ(server.receive(c1), c1.size());
    EXPECT_EQ(accept(server), 3U);
    bytes got;
    ASSERT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(to_string(got), "hello");
    // v2: the first read is answered with V14; v1 sends nothing.
    bytes const s1 = take_output(server);
    EXPECT_EQ(to_hex(s1), v == 1 ? ""
                                 : "0204080003000000"
                                   "05000000"
                                   "00000100");

    borrowed_write world(to_bytes("world"));
    ASSERT_EQ(world.submit(server, 3).accepted, 5U);
    bytes const s2 = take_output(server);
    EXPECT_EQ(to_hex(s2), (v == 1 ? "01" : "02") + std::string("02050003000000776f726c64"));
    ASSERT_EQ(client.receive(s1 + s2), s1.size() + s2.size());
    got.clear();
    ASSERT_EQ(read_some(client, 3, got).state, status::data);
    EXPECT_EQ(to_string(got), "world");
    // The mirror UPD of the v2 capture.
    EXPECT_EQ(to_hex(take_output(client)), v == 1 ? "" : "02040800030000000500000000000100");

    // Both ping ticks: V4 / V17.
    client.on_timer(t0 + cfg.keep_alive_interval);
    server.on_timer(t0 + cfg.keep_alive_interval);
    std::string const nop_hex = v == 1 ? "0103000000000000" : "0203000000000000";
    bytes const c_nop = take_output(client);
    EXPECT_EQ(to_hex(c_nop), nop_hex);
    EXPECT_EQ(to_hex(take_output(server)), nop_hex);
    ASSERT_EQ(server.receive(c_nop), c_nop.size());

    ASSERT_FALSE(client.close_write(3));
    bytes const c_fin = take_output(client);
    EXPECT_EQ(to_hex(c_fin), (v == 1 ? "01" : "02") + std::string("01000003000000"));
    ASSERT_FALSE(server.close_write(3));
    bytes const s_fin = take_output(server);
    EXPECT_EQ(s_fin, c_fin);
    ASSERT_EQ(server.receive(c_fin), c_fin.size());
    ASSERT_EQ(client.receive(s_fin), s_fin.size());
    EXPECT_EQ(read_all(server, 3).last.state, status::end_of_stream);
    EXPECT_EQ(read_all(client, 3).last.state, status::end_of_stream);
    EXPECT_TRUE(client.is_alive());
    EXPECT_TRUE(server.is_alive());
}

INSTANTIATE_TEST_SUITE_P(versions, exchange, ::testing::Values(1, 2), [](auto const& param_info) {
    return "v" + std::to_string(param_info.param);
});

TEST(exchange_v2, first_read_sends_v14_with_defaults) {
    session server(role::server, make_config(2), t0);
    ASSERT_EQ(feed(server, syn(2, 3) + psh(2, 3, "hello")), 21U);
    EXPECT_TRUE(take_output(server).empty());  // no UPD merely because data arrived
    ASSERT_EQ(accept(server), 3U);
    bytes got;
    ASSERT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(take_output(server), from_hex("02 04 0800 03000000 05000000 00000100"));
}

TEST(exchange_v2, first_read_sends_v15_with_a_1mib_stream_buffer) {
    auto cfg = make_config(2);
    cfg.max_stream_buffer = 1'048'576;
    session server(role::server, cfg, t0);
    ASSERT_EQ(feed(server, syn(2, 3) + syn(2, 5) + syn(2, 7) + psh(2, 7, "0123456789")), 42U);
    bytes got;
    ASSERT_EQ(read_some(server, 7, got).state, status::data);
    EXPECT_EQ(got, to_bytes("0123456789"));
    EXPECT_EQ(take_output(server), from_hex("02 04 0800 07000000 0a000000 00001000"));
}

TEST(exchange_v1, a_70000_byte_write_with_65535_byte_frames_is_v10_then_v11) {
    auto cfg = make_config(1);
    cfg.max_frame_size = 65'535;
    session client(role::client, cfg, t0);
    auto const id = open(client);
    borrowed_write w(pattern(70, 70'000));
    ASSERT_EQ(w.submit(client, *id).accepted, 70'000U);
    bytes const out = take_output(client);
    bytes const expected = from_hex("01 00 0000 03000000") + from_hex("01 02 ffff 03000000") +
                           bytes(w.data.begin(), w.data.begin() + 65'535) +
                           from_hex("01 02 7111 03000000") +
                           bytes(w.data.begin() + 65'535, w.data.end());
    EXPECT_TRUE(out == expected);
    EXPECT_EQ(out.size(), expected.size());
}

TEST(exchange_v1, first_server_stream_is_v6_second_client_stream_is_v7) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(open(server), 2U);
    EXPECT_EQ(take_output(server), from_hex("01 00 0000 02000000"));
    session client(role::client, make_config(1), t0);
    ASSERT_EQ(open(client), 3U);
    EXPECT_EQ(take_output(client), from_hex("01 00 0000 03000000"));
    ASSERT_EQ(open(client), 5U);
    EXPECT_EQ(take_output(client), from_hex("01 00 0000 05000000"));
}

// ---- stream ids

TEST(stream_ids, client_opens_odd_ids_from_3_server_even_ids_from_2) {
    for (auto r : {role::client, role::server}) {
        session s(r, make_config(1), t0);
        stream_id const first = r == role::client ? 3 : 2;
        std::vector<stream_id> got;
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(s.next_stream_id(), first + 2 * static_cast<stream_id>(i));
            got.push_back(*open(s));
        }
        EXPECT_EQ(got, (std::vector<stream_id>{first, first + 2, first + 4, first + 6}));
        auto const frames = take_frames(s);
        ASSERT_EQ(frames.size(), 4U);
        for (std::size_t i = 0; i < frames.size(); ++i) {
            EXPECT_EQ(frames[i].h.cmd, command::syn);
            EXPECT_EQ(frames[i].h.sid, got[i]);
            EXPECT_EQ(frames[i].h.length, 0U);
        }
        EXPECT_EQ(s.counters().streams_opened, 4U);
        EXPECT_EQ(s.counters().streams_open, 4U);
    }
}

struct exhaustion_case {
    role r;
    stream_id skip_to;
    stream_id last;
    char const* syn_hex;
};

class stream_id_exhaustion : public ::testing::TestWithParam<exhaustion_case> {};

TEST_P(stream_id_exhaustion, last_id_then_go_away_without_a_frame) {
    auto const& c = GetParam();
    session s(c.r, make_config(1), t0);
    session_access::skip_stream_ids(s, c.skip_to);
    EXPECT_EQ(s.next_stream_id(), c.last);
    auto const last = open(s);
    ASSERT_EQ(last, c.last);
    EXPECT_EQ(to_hex(take_output(s)), c.syn_hex);  // V8 / V9
    EXPECT_EQ(s.next_stream_id(), 0U);
    for (int i = 0; i < 3; ++i) {
        smux::error_code ec;
        EXPECT_FALSE(s.open_stream(ec));
        EXPECT_EQ(ec, error::go_away);
        EXPECT_TRUE(take_output(s).empty());  // there is no GOAWAY frame
    }
    EXPECT_EQ(s.counters().streams_opened, 1U);
    EXPECT_TRUE(s.is_alive());

    // The last stream keeps working both ways.
    borrowed_write w(to_bytes("tail"));
    EXPECT_EQ(w.submit(s, c.last).accepted, 4U);
    auto const frames = take_frames(s);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].h.cmd, command::psh);
    EXPECT_EQ(frames[0].h.sid, c.last);
    EXPECT_EQ(frames[0].payload, to_bytes("tail"));
    ASSERT_EQ(feed(s, psh(1, c.last, "back")), 12U);
    bytes got;
    EXPECT_EQ(read_some(s, c.last, got).state, status::data);
    EXPECT_EQ(got, to_bytes("back"));

    // The peer may still open streams towards this side.
    stream_id const peer_id = c.r == role::client ? 2 : 3;
    ASSERT_EQ(feed(s, syn(1, peer_id)), 8U);
    EXPECT_EQ(accept(s), peer_id);
    smux::error_code ec;
    EXPECT_FALSE(s.open_stream(ec));
    EXPECT_EQ(ec, error::go_away);
}

INSTANTIATE_TEST_SUITE_P(
    roles, stream_id_exhaustion,
    ::testing::Values(exhaustion_case{role::client, 0xFFFFFFFDU, 0xFFFFFFFFU, "01000000ffffffff"},
                      exhaustion_case{role::server, 0xFFFFFFFCU, 0xFFFFFFFEU, "01000000feffffff"}),
    [](auto const& param_info) {
        return param_info.param.r == role::client ? "client" : "server";
    });

TEST(stream_ids, exhausted_from_the_start_when_the_last_id_was_used) {
    for (auto [r, last] : {std::pair{role::client, 0xFFFFFFFFU}, {role::server, 0xFFFFFFFEU}}) {
        session s(r, make_config(2), t0);
        session_access::skip_stream_ids(s, last);
        EXPECT_EQ(s.next_stream_id(), 0U);
        smux::error_code ec;
        EXPECT_FALSE(s.open_stream(ec));
        EXPECT_EQ(ec, error::go_away);
        EXPECT_FALSE(s.want_write());
        EXPECT_TRUE(take_output(s).empty());
        EXPECT_EQ(s.counters().streams_open, 0U);
    }
}

TEST(stream_ids, open_registers_the_stream_before_its_syn_leaves) {
    // An instant reply to a SYN still in the send batch must reach the stream
    // (docs/protocol.md §4).
    session client(role::client, make_config(1), t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    auto const segs = client.prepare_send();
    ASSERT_EQ(total_size(segs), 8U);
    ASSERT_EQ(feed(client, psh(1, *id, "instant") + fin(1, *id)), 23U);
    client.commit_send(8);
    auto const r = read_all(client, *id);
    EXPECT_EQ(r.data, to_bytes("instant"));
    EXPECT_EQ(r.last.state, status::end_of_stream);
}

// ---- SYN

TEST(syn, duplicate_is_ignored) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3) + psh(1, 3, "ab") + syn(1, 3) + psh(1, 3, "cd")), 36U);
    EXPECT_TRUE(server.is_alive());
    EXPECT_EQ(server.counters().streams_accepted, 1U);
    EXPECT_EQ(server.counters().streams_open, 1U);
    EXPECT_EQ(accept(server), 3U);
    EXPECT_FALSE(accept(server));
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(got, to_bytes("abcd"));  // the second SYN did not reset the stream
    EXPECT_TRUE(take_output(server).empty());
}

TEST(syn, an_id_forgotten_after_close_can_be_opened_again_by_the_peer) {
    // Go keeps no record of closed ids (docs/protocol.md §4): the new SYN makes a fresh stream.
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3) + psh(1, 3, "old") + fin(1, 3)), 27U);
    ASSERT_EQ(accept(server), 3U);
    server.close_stream(3);
    EXPECT_EQ(take_output(server), fin(1, 3));
    EXPECT_EQ(server.counters().streams_open, 0U);
    ASSERT_EQ(feed(server, syn(1, 3) + psh(1, 3, "new")), 19U);
    EXPECT_EQ(accept(server), 3U);
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(got, to_bytes("new"));
    EXPECT_EQ(read_some(server, 3, got).state, status::would_block);  // no FIN carried over
}

struct bad_syn {
    role r;
    stream_id sid;
};

class syn_rejected : public ::testing::TestWithParam<bad_syn> {};

TEST_P(syn_rejected, ends_the_session_with_invalid_stream_id) {
    auto const& c = GetParam();
    session s(c.r, make_config(1), t0);
    stream_id const good = c.r == role::client ? 2 : 3;
    ASSERT_EQ(feed(s, syn(1, good) + psh(1, good, "kept")), 20U);
    auto const bad = syn(1, c.sid) + syn(1, good + 2);
    EXPECT_EQ(feed(s, bad), bad.size());
    EXPECT_FALSE(s.is_alive());
    EXPECT_EQ(s.terminal_error(), error::invalid_stream_id);
    auto const evs = take_events(s);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().what, event::kind::closed);
    EXPECT_EQ(evs.back().ec, error::invalid_stream_id);
    // Only the stream before the bad SYN exists; the SYN after it was not acted on.
    smux::error_code ec;
    EXPECT_EQ(s.accept_stream(ec), good);
    EXPECT_FALSE(s.accept_stream(ec));
    EXPECT_EQ(ec, error::invalid_stream_id);
    auto const r = read_all(s, good);
    EXPECT_EQ(r.data, to_bytes("kept"));
    EXPECT_EQ(r.last.state, status::failed);
    EXPECT_EQ(r.last.ec, error::invalid_stream_id);
}

INSTANTIATE_TEST_SUITE_P(ids, syn_rejected,
                         ::testing::Values(bad_syn{role::server, 2}, bad_syn{role::server, 0},
                                           bad_syn{role::server, 0xFFFFFFFEU},
                                           bad_syn{role::client, 3}, bad_syn{role::client, 0},
                                           bad_syn{role::client, 0xFFFFFFFFU}),
                         [](auto const& param_info) {
                             return std::string(param_info.param.r == role::client ? "client_"
                                                                                   : "server_") +
                                    std::to_string(param_info.param.sid);
                         });

TEST(syn, last_peer_ids_are_accepted) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, from_hex("01 00 0000 ffffffff")), 8U);  // V8
    EXPECT_EQ(accept(server), 0xFFFFFFFFU);
    session client(role::client, make_config(1), t0);
    ASSERT_EQ(feed(client, from_hex("01 00 0000 feffffff")), 8U);  // V9
    EXPECT_EQ(accept(client), 0xFFFFFFFEU);
}

TEST(syn, accept_queue_keeps_arrival_order) {
    session server(role::server, make_config(1), t0);
    // Go checks no order: any peer-parity id is accepted in the order the SYNs came.
    std::vector<stream_id> const ids{9, 3, 101, 5, 7};
    bytes in;
    for (auto id : ids) {
        in += syn(1, id);
    }
    ASSERT_EQ(feed(server, in), in.size());
    for (auto id : ids) {
        EXPECT_EQ(accept(server), id);
    }
    EXPECT_FALSE(accept(server));
    EXPECT_EQ(server.counters().streams_accepted, ids.size());
}

TEST(syn, incoming_event_follows_an_accept_miss) {
    session server(role::server, make_config(1), t0);
    int marker = 0;
    EXPECT_FALSE(accept(server));
    ASSERT_EQ(feed(server, syn(1, 3) + syn(1, 5)), 16U);
    auto const evs = take_events(server);
    ASSERT_EQ(evs.size(), 1U);  // once per miss, not once per SYN
    EXPECT_EQ(evs[0].what, event::kind::incoming);
    EXPECT_EQ(evs[0].id, 3U);
    server.set_context(3, &marker);
    EXPECT_EQ(accept(server), 3U);
    EXPECT_EQ(accept(server), 5U);
    // No miss since: a new SYN raises no event.
    ASSERT_EQ(feed(server, syn(1, 7)), 8U);
    EXPECT_TRUE(take_events(server).empty());
}

TEST(syn, full_accept_backlog_pauses_reading_until_an_accept) {
    auto cfg = make_config(1);
    cfg.accept_backlog = 2;
    session server(role::server, cfg, t0);
    bytes const in = syn(1, 3) + syn(1, 5) + syn(1, 7) + psh(1, 7, "x") + syn(1, 9);
    EXPECT_TRUE(server.want_read());
    std::size_t const took = feed(server, in);
    EXPECT_EQ(took, 16U);  // stops at the frame boundary after the second SYN
    EXPECT_FALSE(server.want_read());
    std::span<std::byte const> rest(in.data() + took, in.size() - took);
    EXPECT_EQ(feed(server, rest), 0U);
    EXPECT_EQ(feed_bytewise(server, rest), 0U);
    EXPECT_EQ(server.counters().streams_accepted, 2U);

    EXPECT_EQ(accept(server), 3U);
    EXPECT_TRUE(server.want_read());
    std::size_t const took2 = feed(server, rest);
    EXPECT_EQ(took2, 8U);  // SYN 7 fills the backlog again before its PSH
    EXPECT_FALSE(server.want_read());
    EXPECT_EQ(accept(server), 5U);
    EXPECT_EQ(feed(server, rest.subspan(took2)), 17U);
    EXPECT_EQ(accept(server), 7U);
    EXPECT_EQ(accept(server), 9U);
    bytes got;
    EXPECT_EQ(read_some(server, 7, got).state, status::data);
    EXPECT_EQ(got, to_bytes("x"));
}

TEST(syn, beyond_max_streams_is_refused_with_fin_and_allocates_nothing) {
    auto cfg = make_config(1);
    cfg.max_streams = 2;
    session server(role::server, cfg, t0);
    bytes const in = syn(1, 3) + syn(1, 5) + syn(1, 7) + psh(1, 7, "dropped") + syn(1, 9);
    ASSERT_EQ(feed(server, in), in.size());
    EXPECT_TRUE(server.is_alive());
    auto const c = server.counters();
    EXPECT_EQ(c.streams_refused, 2U);
    EXPECT_EQ(c.streams_accepted, 2U);
    EXPECT_EQ(c.streams_open, 2U);
    EXPECT_EQ(c.buffered_bytes, 0U);  // the PSH of the refused id was dropped
    EXPECT_EQ(take_output(server), fin(1, 7) + fin(1, 9));
    EXPECT_EQ(accept(server), 3U);
    EXPECT_EQ(accept(server), 5U);
    EXPECT_FALSE(accept(server));
    bytes none;
    EXPECT_EQ(read_some(server, 7, none).state, status::failed);

    // A slot freed by a full close (its FIN sent) admits the next SYN.
    server.close_stream(3);
    EXPECT_EQ(take_output(server), fin(1, 3));
    EXPECT_EQ(server.counters().streams_open, 1U);
    ASSERT_EQ(feed(server, syn(1, 11)), 8U);
    EXPECT_EQ(accept(server), 11U);
    EXPECT_EQ(server.counters().streams_refused, 2U);
}

TEST(syn, unsent_refusals_pause_reading) {
    auto cfg = make_config(1);
    cfg.max_streams = 1;
    session::options opts;
    opts.max_pending_refusals = 4;
    session server(role::server, cfg, t0, opts);
    bytes in;
    for (stream_id id = 3; id <= 21; id += 2) {
        in += syn(1, id);
    }
    std::size_t const took = feed(server, in);
    EXPECT_EQ(took, 5U * 8U);  // one accepted, four refusals waiting for the transport
    EXPECT_FALSE(server.want_read());
    EXPECT_EQ(take_output(server), fin(1, 5) + fin(1, 7) + fin(1, 9) + fin(1, 11));
    EXPECT_TRUE(server.want_read());
    EXPECT_EQ(feed(server, std::span<std::byte const>(in).subspan(took)), 4U * 8U);
    EXPECT_EQ(server.counters().streams_refused, 8U);
    EXPECT_EQ(server.counters().streams_open, 1U);
}

TEST(syn, own_streams_count_towards_max_streams) {
    auto cfg = make_config(2);
    cfg.max_streams = 1;
    session server(role::server, cfg, t0);
    ASSERT_EQ(open(server), 2U);
    (void)take_output(server);
    ASSERT_EQ(feed(server, syn(2, 3)), 8U);
    EXPECT_EQ(server.counters().streams_refused, 1U);
    EXPECT_EQ(take_output(server), fin(2, 3));
    EXPECT_FALSE(accept(server));
}

// ---- PSH

TEST(psh, to_unknown_ids_is_dropped_without_charging_the_budget) {
    auto cfg = make_config(1);
    cfg.max_receive_buffer = 70'000;
    cfg.max_stream_buffer = 65'536;
    session server(role::server, cfg, t0);
    bytes in = syn(1, 3);
    for (int i = 0; i < 4; ++i) {
        in += psh(1, 5, pattern(5, 65'535)) + psh(1, 0, "zero") + fin(1, 9);
    }
    in += psh(1, 3, "live");
    ASSERT_EQ(feed(server, in), in.size());
    EXPECT_TRUE(server.is_alive());
    EXPECT_TRUE(server.want_read());
    EXPECT_EQ(server.counters().buffered_bytes, 4U);
    EXPECT_EQ(server.readable_bytes(5), 0U);
    EXPECT_EQ(accept(server), 3U);
    EXPECT_FALSE(accept(server));
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(got, to_bytes("live"));
    EXPECT_TRUE(take_output(server).empty());
}

TEST(psh, zero_length_is_ignored) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3)), 8U);
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::would_block);
    ASSERT_EQ(feed(server, psh(1, 3, "")), 8U);
    ASSERT_EQ(feed(server, psh(1, 3, "") + nop(1)), 16U);
    EXPECT_EQ(count_events(take_events(server), event::kind::readable), 0U);
    EXPECT_EQ(read_some(server, 3, got).state, status::would_block);
    EXPECT_EQ(server.readable_bytes(3), 0U);
    ASSERT_EQ(feed(server, psh(1, 3, "") + psh(1, 3, "a")), 17U);
    EXPECT_EQ(count_events(take_events(server), event::kind::readable, 3), 1U);
    EXPECT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(got, to_bytes("a"));
    EXPECT_TRUE(server.is_alive());
}

TEST(psh, longer_than_own_max_frame_size_is_accepted) {
    for (int v : {1, 2}) {
        auto cfg = make_config(v);
        cfg.max_frame_size = 1'024;
        session server(role::server, cfg, t0);
        bytes const payload = pattern(7, 65'535);
        bytes const in = syn(v, 3) + psh(v, 3, payload);  // V10's length
        ASSERT_EQ(feed(server, in), in.size());
        EXPECT_TRUE(server.is_alive());
        auto const r = read_all(server, 3);
        EXPECT_EQ(r.data, payload);
        EXPECT_EQ(r.last.state, status::would_block);
    }
}

TEST(psh, after_the_peers_fin_on_a_live_stream_is_accepted) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3) + psh(1, 3, "ab") + fin(1, 3)), 26U);
    auto r = read_all(server, 3);
    EXPECT_EQ(r.data, to_bytes("ab"));
    EXPECT_EQ(r.last.state, status::end_of_stream);
    ASSERT_EQ(feed(server, psh(1, 3, "cd")), 10U);
    EXPECT_TRUE(server.is_alive());
    r = read_all(server, 3);
    EXPECT_EQ(r.data, to_bytes("cd"));
    EXPECT_EQ(r.last.state, status::end_of_stream);
}

/// A script of peer frames covering small, copied and large payloads, split points inside
/// headers, payloads and UPD bodies.
bytes split_script(int v) {
    bytes in = syn(v, 3) + psh(v, 3, "hello world") + nop(v) + psh(v, 3, pattern(1, 4'200)) +
               psh(v, 3, "") + syn(v, 5) + psh(v, 5, "five");
    if (v == 2) {
        in += upd(v, 2, 0, 300'000);  // for the stream this side opened
    }
    return in + psh(v, 3, "!") + fin(v, 3) + fin(v, 5);
}

struct split_result {
    bytes s3;
    bytes s5;
    read_result::status end3;
    read_result::status end5;
    std::size_t accepted_len;
    std::size_t written;
    bool alive;

    bool operator==(split_result const&) const = default;
};

split_result run_script(int v, std::span<std::byte const> in, std::size_t split, bool bytewise) {
    session server(role::server, make_config(v), t0);
    auto const own = open(server);  // id 2
    EXPECT_EQ(own, 2U);
    (void)take_output(server);
    std::size_t took = 0;
    if (bytewise) {
        took = feed_bytewise(server, in);
    } else {
        took = feed(server, in.first(split));
        took += feed(server, in.subspan(split));
    }
    split_result out{};
    out.accepted_len = took;
    out.alive = server.is_alive();
    auto const r3 = read_all(server, 3, 1'000);
    auto const r5 = read_all(server, 5);
    out.s3 = r3.data;
    out.s5 = r5.data;
    out.end3 = r3.last.state;
    out.end5 = r5.last.state;
    // v2: the UPD of the script opened the own stream's window beyond the initial
    // v2_initial_window.
    static bytes const big(280'000);
    std::array<std::span<std::byte const>, 1> const src{std::span<std::byte const>(big)};
    out.written = server.write(2, src).accepted;
    return out;
}

class split_points : public ::testing::TestWithParam<int> {};

TEST_P(split_points, every_split_position_gives_the_same_result) {
    int const v = GetParam();
    bytes const in = split_script(v);
    split_result const whole = run_script(v, in, in.size(), false);
    EXPECT_TRUE(whole.alive);
    EXPECT_EQ(whole.accepted_len, in.size());
    EXPECT_EQ(whole.s3, to_bytes("hello world") + pattern(1, 4'200) + to_bytes("!"));
    EXPECT_EQ(whole.s5, to_bytes("five"));
    EXPECT_EQ(whole.end3, status::end_of_stream);
    EXPECT_EQ(whole.end5, status::end_of_stream);
    EXPECT_EQ(whole.written, 280'000U);
    for (std::size_t split = 0; split <= in.size(); ++split) {
        ASSERT_EQ(run_script(v, in, split, false), whole) << "split at " << split;
    }
    EXPECT_EQ(run_script(v, in, 0, true), whole);
}

INSTANTIATE_TEST_SUITE_P(versions, split_points, ::testing::Values(1, 2),
                         [](auto const& param_info) {
                             return "v" + std::to_string(param_info.param);
                         });

// ---- FIN

TEST(fin, read_returns_buffered_bytes_then_end_of_stream) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3)), 8U);
    bytes got;
    ASSERT_EQ(read_some(server, 3, got).state, status::would_block);
    ASSERT_EQ(feed(server, psh(1, 3, "abcdef") + fin(1, 3)), 22U);
    auto const evs = take_events(server);
    EXPECT_EQ(count_events(evs, event::kind::readable, 3), 1U);
    EXPECT_EQ(read_some(server, 3, got, 4).state, status::data);
    EXPECT_EQ(to_string(got), "abcd");
    EXPECT_EQ(read_some(server, 3, got, 4).state, status::data);
    EXPECT_EQ(to_string(got), "abcdef");
    EXPECT_EQ(read_some(server, 3, got).state, status::end_of_stream);
    EXPECT_EQ(read_some(server, 3, got).state, status::end_of_stream);
}

TEST(poll_read, tells_what_a_read_would_return_and_takes_nothing) {
    session server(role::server, make_config(2), t0);
    ASSERT_EQ(feed(server, syn(2, 3)), 8U);
    EXPECT_EQ(server.poll_read(3).state, status::would_block);
    ASSERT_EQ(feed(server, psh(2, 3, "abc")), 11U);
    auto const evs = take_events(server);
    EXPECT_EQ(count_events(evs, event::kind::readable, 3), 1U) << "a poll miss asks for an event";
    for (int i = 0; i < 2; ++i) {  // polling twice changes nothing
        auto const r = server.poll_read(3);
        EXPECT_EQ(r.state, status::data);
        EXPECT_EQ(r.bytes, 3U);
    }
    EXPECT_TRUE(take_output(server).empty()) << "no credit went back: nothing was read";
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::data);
    EXPECT_EQ(to_string(got), "abc");
    EXPECT_EQ(server.poll_read(3).state, status::would_block);
    ASSERT_EQ(feed(server, fin(2, 3)), 8U);
    EXPECT_EQ(server.poll_read(3).state, status::end_of_stream);
    EXPECT_EQ(server.poll_read(99).state, status::failed);
    EXPECT_EQ(server.poll_read(99).ec, smux::error::stream_closed);
}

TEST(poll_read, after_the_sessions_end_gives_its_error) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3)), 8U);
    server.close(make_error_code(smux::error::connection_closed));
    auto const r = server.poll_read(3);
    EXPECT_EQ(r.state, status::failed);
    EXPECT_EQ(r.ec, smux::error::connection_closed);
}

TEST(fin, wakes_a_waiting_reader_once) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3)), 8U);
    bytes got;
    ASSERT_EQ(read_some(server, 3, got).state, status::would_block);
    ASSERT_EQ(feed(server, fin(1, 3) + fin(1, 3)), 16U);  // duplicate FIN harmless
    EXPECT_TRUE(server.is_alive());
    auto const evs = take_events(server);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::readable);
    EXPECT_EQ(evs[0].id, 3U);
    EXPECT_EQ(read_some(server, 3, got).state, status::end_of_stream);
    EXPECT_TRUE(take_output(server).empty());
}

TEST(fin, for_unknown_ids_is_ignored) {
    session server(role::server, make_config(2), t0);
    ASSERT_EQ(feed(server, fin(2, 3) + fin(2, 77) + fin(2, 0) + syn(2, 3)), 32U);
    EXPECT_TRUE(server.is_alive());
    EXPECT_TRUE(take_output(server).empty());
    EXPECT_EQ(accept(server), 3U);
    // The FIN before the SYN did not mark the new stream finished.
    bytes got;
    EXPECT_EQ(read_some(server, 3, got).state, status::would_block);
}

TEST(fin, writes_stay_allowed_after_the_peers_fin) {
    for (int v : {1, 2}) {
        session server(role::server, make_config(v), t0);
        ASSERT_EQ(feed(server, syn(v, 3) + fin(v, 3)), 16U);
        borrowed_write w(to_bytes("reply"));
        EXPECT_EQ(w.submit(server, 3).accepted, 5U);
        ASSERT_FALSE(server.close_write(3));
        EXPECT_EQ(take_output(server), psh(v, 3, "reply") + fin(v, 3));
    }
}

TEST(fin, close_write_sends_fin_after_pending_data) {
    for (int v : {1, 2}) {
        session client(role::client, make_config(v), t0);
        auto const id = open(client);
        ASSERT_TRUE(id);
        borrowed_write w(pattern(3, 100'000));
        ASSERT_EQ(w.submit(client, *id).accepted, 100'000U);
        ASSERT_FALSE(client.close_write(*id));
        auto const frames = take_frames(client);
        ASSERT_GE(frames.size(), 3U);
        EXPECT_EQ(frames.front().h.cmd, command::syn);
        EXPECT_EQ(frames.back().h.cmd, command::fin);
        EXPECT_EQ(frames.back().h.sid, *id);
        bytes sent;
        for (std::size_t i = 1; i + 1 < frames.size(); ++i) {
            EXPECT_EQ(frames[i].h.cmd, command::psh);
            sent += frames[i].payload;
        }
        EXPECT_EQ(sent, w.data);
        // The write side is finished; reading goes on.
        borrowed_write more(to_bytes("late"));
        auto const r = more.submit(client, *id);
        EXPECT_EQ(r.accepted, 0U);
        EXPECT_EQ(r.ec, error::broken_pipe);
        ASSERT_EQ(feed(client, psh(v, *id, "answer")), 14U);
        bytes got;
        EXPECT_EQ(read_some(client, *id, got).state, status::data);
        EXPECT_EQ(got, to_bytes("answer"));
    }
}

TEST(fin, close_stream_sends_fin_drops_unread_data_and_returns_its_budget) {
    auto cfg = make_config(1);
    cfg.max_receive_buffer = 100'000;
    session server(role::server, cfg, t0);
    bytes const in = syn(1, 3) + psh(1, 3, pattern(1, 60'000)) + psh(1, 3, pattern(2, 50'000)) +
                     syn(1, 5) + psh(1, 5, "next");
    std::size_t const took = feed(server, in);
    EXPECT_EQ(took, 8U + 60'008U + 50'008U);
    EXPECT_FALSE(server.want_read());
    EXPECT_EQ(server.counters().buffered_bytes, 110'000U);
    ASSERT_EQ(accept(server), 3U);
    std::size_t const open_before = server.counters().streams_open;

    server.close_stream(3);
    EXPECT_EQ(server.counters().buffered_bytes, 0U);
    EXPECT_EQ(server.counters().pinned_bytes, 0U);
    EXPECT_TRUE(server.want_read());
    EXPECT_EQ(take_output(server), fin(1, 3));
    EXPECT_EQ(server.counters().streams_open, open_before - 1);
    bytes got;
    auto const r = read_some(server, 3, got);
    EXPECT_EQ(r.state, status::failed);
    EXPECT_EQ(r.ec, error::stream_closed);
    borrowed_write w(to_bytes("x"));
    EXPECT_EQ(w.submit(server, 3).ec, error::stream_closed);

    // The rest is read now; more PSH/FIN for the closed id are dropped.
    bytes const rest = bytes(in.begin() + static_cast<std::ptrdiff_t>(took), in.end()) +
                       psh(1, 3, "late") + fin(1, 3);
    ASSERT_EQ(feed(server, rest), rest.size());
    EXPECT_EQ(server.counters().buffered_bytes, 4U);
    EXPECT_EQ(accept(server), 5U);
    EXPECT_TRUE(take_output(server).empty());
}

TEST(fin, no_duplicate_fin_after_close_write_then_close_stream) {
    // FIN already on the wire.
    session a(role::client, make_config(1), t0);
    auto const id = open(a);
    ASSERT_FALSE(a.close_write(*id));
    EXPECT_EQ(take_output(a), syn(1, 3) + fin(1, 3));
    a.close_stream(*id);
    EXPECT_TRUE(take_output(a).empty());
    EXPECT_EQ(a.counters().streams_open, 0U);
    // FIN still queued.
    session b(role::client, make_config(2), t0);
    auto const id2 = open(b);
    ASSERT_FALSE(b.close_write(*id2));
    b.close_stream(*id2);
    EXPECT_EQ(take_output(b), syn(2, 3) + fin(2, 3));
    EXPECT_EQ(b.counters().streams_open, 0U);
    // FIN in the batch being written (partially committed).
    session c(role::client, make_config(1), t0);
    auto const id3 = open(c);
    (void)take_output(c);
    ASSERT_FALSE(c.close_write(*id3));
    auto const segs = c.prepare_send();
    ASSERT_EQ(total_size(segs), 8U);
    c.commit_send(3);
    c.close_stream(*id3);
    c.commit_send(5);
    EXPECT_TRUE(take_output(c).empty());
    EXPECT_EQ(c.counters().streams_open, 0U);
}

TEST(fin, close_stream_of_a_fresh_stream_sends_syn_then_fin) {
    session client(role::client, make_config(1), t0);
    auto const id = open(client);
    client.close_stream(*id);
    EXPECT_EQ(take_output(client), syn(1, 3) + fin(1, 3));
    EXPECT_EQ(client.counters().streams_open, 0U);
    // The id is not reused.
    EXPECT_EQ(open(client), 5U);
}

TEST(fin, close_stream_ends_a_write_in_progress) {
    session client(role::client, make_config(1), t0);
    auto const id = open(client);
    (void)take_output(client);
    borrowed_write w(pattern(4, 100'000));
    ASSERT_EQ(w.submit(client, *id).accepted, 100'000U);
    client.close_stream(*id);
    auto const evs = take_events(client);
    ASSERT_EQ(count_events(evs, event::kind::write_done, *id), 1U);
    for (auto const& e : evs) {
        if (e.what == event::kind::write_done) {
            EXPECT_EQ(e.bytes, 0U);  // nothing of it had been framed
        }
    }
    EXPECT_EQ(take_output(client), fin(1, 3));
}

TEST(fin, half_close_both_ways_is_lossless) {
    for (int v : {1, 2}) {
        session client(role::client, make_config(v), t0);
        session server(role::server, make_config(v), t0);
        auto const id = open(client);
        borrowed_write up(pattern(10, 150'000));
        ASSERT_EQ(up.submit(client, *id).accepted, 150'000U);
        ASSERT_FALSE(client.close_write(*id));
        bytes const c_out = take_output(client);
        ASSERT_EQ(server.receive(c_out), c_out.size());
        ASSERT_EQ(accept(server), *id);
        borrowed_write down(pattern(11, 120'000));
        ASSERT_EQ(down.submit(server, *id).accepted, 120'000U);
        ASSERT_FALSE(server.close_write(*id));
        bytes const s_out = take_output(server);
        ASSERT_EQ(client.receive(s_out), s_out.size());
        // Both FINs were sent and received; nothing was read yet.
        auto const at_server = read_all(server, *id, 7'000);
        auto const at_client = read_all(client, *id, 9'000);
        EXPECT_EQ(at_server.data, up.data);
        EXPECT_EQ(at_server.last.state, status::end_of_stream);
        EXPECT_EQ(at_client.data, down.data);
        EXPECT_EQ(at_client.last.state, status::end_of_stream);
        EXPECT_TRUE(client.is_alive());
        EXPECT_TRUE(server.is_alive());
        client.close_stream(*id);
        server.close_stream(*id);
        EXPECT_TRUE(take_output(client).empty());
        EXPECT_TRUE(take_output(server).empty());
        EXPECT_EQ(client.counters().streams_open, 0U);
        EXPECT_EQ(server.counters().streams_open, 0U);
    }
}

TEST(fin, shutdown_streams_sends_fin_on_every_stream_after_its_data) {
    session client(role::client, make_config(1), t0);
    auto const a = open(client);
    auto const b = open(client);
    borrowed_write w(pattern(5, 40'000));
    ASSERT_EQ(w.submit(client, *a).accepted, 40'000U);
    client.shutdown_streams();
    auto const frames = take_frames(client);
    std::vector<std::size_t> fin_at(2, 0);
    std::size_t last_psh_a = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].h.cmd == command::fin) {
            fin_at[frames[i].h.sid == *a ? 0 : 1] = i;
        }
        if (frames[i].h.cmd == command::psh && frames[i].h.sid == *a) {
            last_psh_a = i;
        }
    }
    EXPECT_GT(fin_at[0], last_psh_a);
    EXPECT_GT(fin_at[1], 0U);
    EXPECT_EQ(std::count_if(frames.begin(), frames.end(),
                            [](auto const& f) { return f.h.cmd == command::fin; }),
              2);
    EXPECT_EQ(w.submit(client, *b).ec, error::broken_pipe);
}

TEST(session_misc, context_comes_back_in_the_streams_events) {
    session server(role::server, make_config(1), t0);
    ASSERT_EQ(feed(server, syn(1, 3)), 8U);
    int marker = 0;
    server.set_context(3, &marker);
    bytes got;
    ASSERT_EQ(read_some(server, 3, got).state, status::would_block);
    ASSERT_EQ(feed(server, psh(1, 3, "x")), 9U);
    borrowed_write w(to_bytes("y"));
    ASSERT_EQ(w.submit(server, 3).accepted, 1U);
    (void)take_output(server);
    auto const evs = take_events(server);
    ASSERT_EQ(evs.size(), 2U);
    for (auto const& e : evs) {
        EXPECT_EQ(e.context, &marker);
        EXPECT_EQ(e.id, 3U);
    }
}

TEST(session_misc, read_and_write_on_unknown_streams_fail_with_stream_closed) {
    session s(role::client, make_config(1), t0);
    bytes got;
    auto const r = read_some(s, 3, got);
    EXPECT_EQ(r.state, status::failed);
    EXPECT_EQ(r.ec, error::stream_closed);
    borrowed_write w(to_bytes("x"));
    EXPECT_EQ(w.submit(s, 3).ec, error::stream_closed);
    EXPECT_EQ(s.close_write(3), error::stream_closed);
    EXPECT_TRUE(s.is_alive());
    EXPECT_TRUE(take_output(s).empty());
}

TEST(session_misc, second_write_while_one_is_pending_fails) {
    session s(role::client, make_config(1), t0);
    auto const id = open(s);
    borrowed_write a(to_bytes("first"));
    borrowed_write b(to_bytes("second"));
    ASSERT_EQ(a.submit(s, *id).accepted, 5U);
    auto const r = b.submit(s, *id);
    EXPECT_EQ(r.accepted, 0U);
    EXPECT_EQ(r.ec, error::operation_in_progress);
    EXPECT_EQ(take_output(s), syn(1, 3) + psh(1, 3, "first"));
    EXPECT_EQ(b.submit(s, *id).accepted, 6U);
}

TEST(session_misc, empty_write_sends_nothing) {
    session s(role::client, make_config(2), t0);
    auto const id = open(s);
    (void)take_output(s);
    borrowed_write w(bytes{});
    auto const r = w.submit(s, *id);
    EXPECT_EQ(r.accepted, 0U);
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(take_output(s).empty());
    EXPECT_TRUE(take_events(s).empty());
}

}  // namespace
