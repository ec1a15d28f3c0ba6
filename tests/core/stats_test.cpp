// Per-stream counters, windows and state (smux::stream_stats), and the session counters a
// dashboard reads: frames ignored, window stalls, keep-alives.

#include <gtest/gtest.h>

#include <cstdint>
#include <smux/core/session.hpp>
#include <smux/counters.hpp>
#include <smux/error.hpp>

#include "support/core_frames.hpp"

namespace {

using namespace core_test;
using smux::stream_state;
using smux::core::session;

smux::stream_stats stats_of(session const& s, stream_id id) {
    auto st = s.stream_stats(id);
    EXPECT_TRUE(st.has_value()) << "stream " << id;
    return st.value_or(smux::stream_stats{});
}

class stream_stats_test : public ::testing::TestWithParam<int> {};

TEST_P(stream_stats_test, payload_and_frames_are_counted_each_way) {
    int const v = GetParam();
    session client(role::client, make_config(v), t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    borrowed_write w(to_bytes("hello"));
    ASSERT_EQ(w.submit(client, *id).accepted, 5U);
    EXPECT_EQ(stats_of(client, *id).frames_sent, 0U) << "nothing reached the transport yet";
    bytes const wire = take_output(client);  // SYN, PSH "hello"
    auto const sent = stats_of(client, *id);
    EXPECT_EQ(sent.frames_sent, 2U);
    EXPECT_EQ(sent.bytes_sent, 5U);
    EXPECT_EQ(sent.frames_received, 0U);

    session server(role::server, make_config(v), t0);
    ASSERT_EQ(feed(server, wire), wire.size());
    ASSERT_EQ(feed(server, psh(v, *id, "") + psh(v, *id, "world!")), 8U + 14U);
    auto const got = stats_of(server, *id);
    EXPECT_EQ(got.frames_received, 4U) << "SYN and three PSH, the empty one too";
    EXPECT_EQ(got.bytes_received, 11U);
    EXPECT_EQ(got.buffered_bytes, 11U);
    bytes out;
    ASSERT_EQ(read_some(server, *id, out).bytes, 11U);
    EXPECT_EQ(stats_of(server, *id).buffered_bytes, 0U);
    EXPECT_EQ(stats_of(server, *id).bytes_received, 11U) << "cumulative";

    bytes const reply = take_output(server);  // v2: the window update of the first read
    ASSERT_EQ(feed(client, reply), reply.size());
    EXPECT_EQ(stats_of(client, *id).frames_received, v == 2 ? 1U : 0U);
    EXPECT_EQ(stats_of(server, *id).frames_sent, v == 2 ? 1U : 0U);
}

TEST_P(stream_stats_test, state_follows_each_sides_fin_and_the_session) {
    int const v = GetParam();
    session server(role::server, make_config(v), t0);
    ASSERT_EQ(feed(server, syn(v, 3) + syn(v, 5) + syn(v, 7)), 24U);
    EXPECT_EQ(stats_of(server, 3).state, stream_state::open);
    ASSERT_FALSE(server.close_write(3));
    EXPECT_EQ(stats_of(server, 3).state, stream_state::write_closed);
    ASSERT_EQ(feed(server, fin(v, 3) + fin(v, 5)), 16U);
    EXPECT_EQ(stats_of(server, 3).state, stream_state::closed);
    EXPECT_EQ(stats_of(server, 5).state, stream_state::read_closed);
    EXPECT_EQ(stats_of(server, 7).state, stream_state::open);
    server.close(make_error_code(smux::error::connection_closed));
    EXPECT_EQ(stats_of(server, 7).state, stream_state::closed);
    EXPECT_EQ(stats_of(server, 7).frames_received, 1U) << "counters stay readable";
}

TEST_P(stream_stats_test, a_closed_or_unknown_stream_has_none) {
    int const v = GetParam();
    session server(role::server, make_config(v), t0);
    ASSERT_EQ(feed(server, syn(v, 3)), 8U);
    EXPECT_TRUE(server.stream_stats(3).has_value());
    EXPECT_FALSE(server.stream_stats(5).has_value());
    server.close_stream(3);
    EXPECT_FALSE(server.stream_stats(3).has_value());
}

INSTANTIATE_TEST_SUITE_P(versions, stream_stats_test, ::testing::Values(1, 2));

TEST(stream_stats_windows, v2_reports_the_open_send_window_and_the_advertised_one) {
    smux::config cfg = make_config(2);
    cfg.max_stream_buffer = 100'000;
    session client(role::client, cfg, t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    auto const fresh = stats_of(client, *id);
    EXPECT_EQ(fresh.send_window, v2_initial_window) << "the protocol's initial window";
    EXPECT_EQ(fresh.receive_window, 100'000U) << "max_stream_buffer";

    borrowed_write w{bytes(1'000)};
    ASSERT_EQ(w.submit(client, *id).accepted, 1'000U);
    EXPECT_EQ(stats_of(client, *id).send_window, v2_initial_window - 1'000U);
    (void)take_output(client);
    ASSERT_EQ(feed(client, upd(2, *id, 600, 5'000)), 16U);
    EXPECT_EQ(stats_of(client, *id).send_window, 5'000U - 400U) << "window minus in flight";
    ASSERT_EQ(feed(client, upd(2, *id, 600, 100)), 16U);
    EXPECT_EQ(stats_of(client, *id).send_window, 0U) << "shut: in flight exceeds the window";
}

TEST(stream_stats_windows, v1_has_no_stream_windows) {
    session client(role::client, make_config(1), t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    EXPECT_EQ(stats_of(client, *id).send_window, 0U);
    EXPECT_EQ(stats_of(client, *id).receive_window, 0U);
}

TEST(session_counters, frames_go_ignores_are_counted) {
    session server(role::server, make_config(2), t0);
    ASSERT_EQ(feed(server, syn(2, 3) + syn(2, 3)), 16U);  // the second: a duplicate SYN
    ASSERT_EQ(feed(server, psh(2, 9, "x") + fin(2, 9) + upd(2, 9, 0, 1)), 9U + 8U + 16U);
    ASSERT_EQ(feed(server, fin(2, 3) + fin(2, 3)), 16U);  // the second: a duplicate FIN
    EXPECT_TRUE(server.is_alive());
    EXPECT_EQ(server.counters().frames_ignored, 5U);
    EXPECT_EQ(stats_of(server, 3).frames_received, 2U) << "SYN and the first FIN";
}

TEST(session_counters, a_write_that_finds_the_window_shut_is_a_stall) {
    session client(role::client, make_config(2), t0);
    auto const id = open(client);
    ASSERT_TRUE(id);
    borrowed_write all{bytes(v2_initial_window)};
    ASSERT_EQ(all.submit(client, *id).accepted, v2_initial_window);
    (void)take_output(client);
    (void)take_events(client);
    EXPECT_EQ(client.counters().window_stalls, 0U);
    borrowed_write more{bytes(10)};
    EXPECT_EQ(more.submit(client, *id).accepted, 0U);
    EXPECT_EQ(client.counters().window_stalls, 1U);
    ASSERT_EQ(feed(client, upd(2, *id, v2_initial_window, v2_initial_window)), 16U);
    EXPECT_EQ(more.submit(client, *id).accepted, 10U);
    EXPECT_EQ(client.counters().window_stalls, 1U);
}

}  // namespace
