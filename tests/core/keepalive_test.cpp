// Keep-alive with a fake clock (docs/protocol.md §7): a NOP every interval on a fixed
// ticker, a liveness check every timeout, no timeout while reading is paused by our own flow
// control, nothing at all when keep-alive is disabled.

#include <gtest/gtest.h>

#include <chrono>
#include <smux/core/session.hpp>
#include <smux/error.hpp>
#include <string>

#include "support/core_frames.hpp"
#include "support/core_pair.hpp"

namespace {

using namespace core_test;
using namespace std::chrono_literals;
using smux::error;
using smux::core::session;

smux::config timed_config(int v, std::chrono::milliseconds interval,
                          std::chrono::milliseconds timeout) {
    auto c = make_config(v);
    c.keep_alive_interval = interval;
    c.keep_alive_timeout = timeout;
    return c;
}

class keepalive : public ::testing::TestWithParam<int> {};

TEST_P(keepalive, nop_every_interval_with_the_session_version) {
    int const v = GetParam();
    session s(role::client, timed_config(v, 1s, 3s), t0);
    EXPECT_EQ(s.next_timer(), t0 + 1s);
    s.on_timer(t0 + 999ms);
    EXPECT_TRUE(take_output(s).empty());
    bytes const expected_nop = from_hex(v == 1 ? "01 03 0000 00000000" : "02 03 0000 00000000");
    for (int i = 1; i <= 20; ++i) {
        s.on_timer(t0 + i * 1s);
        EXPECT_EQ(take_output(s), expected_nop) << "tick " << i;
        // The peer talks too, so the session stays up.
        ASSERT_EQ(feed(s, nop(v)), 8U);
        s.on_timer(t0 + i * 1s + 500ms);
        EXPECT_TRUE(take_output(s).empty());
    }
    EXPECT_TRUE(s.is_alive());
    EXPECT_EQ(s.counters().frames_sent, 20U);
    EXPECT_EQ(s.counters().keepalives_sent, 20U);
    EXPECT_EQ(s.counters().keepalives_received, 20U);
}

TEST_P(keepalive, silent_peer_times_out_at_the_first_timeout_tick) {
    int const v = GetParam();
    session s(role::server, timed_config(v, 10s, 30s), t0);
    s.on_timer(t0 + 10s);
    EXPECT_EQ(take_output(s), nop(v));
    s.on_timer(t0 + 20s);
    EXPECT_EQ(take_output(s), nop(v));
    s.on_timer(t0 + 30s - 1ms);
    EXPECT_TRUE(s.is_alive());
    EXPECT_TRUE(take_output(s).empty());
    EXPECT_TRUE(take_events(s).empty());
    s.on_timer(t0 + 30s);
    EXPECT_FALSE(s.is_alive());
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);
    auto const evs = take_events(s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::closed);
    EXPECT_EQ(evs[0].ec, error::keepalive_timeout);
    EXPECT_TRUE(take_output(s).empty());  // the ping of t0+30s is not sent either
    EXPECT_FALSE(s.next_timer());
}

TEST_P(keepalive, silent_peer_times_out_even_with_one_late_timer_call) {
    int const v = GetParam();
    session s(role::client, timed_config(v, 10s, 30s), t0);
    s.on_timer(t0 + 45s);
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);
}

TEST_P(keepalive, any_received_frame_keeps_the_session_alive) {
    int const v = GetParam();
    session s(role::server, timed_config(v, 1s, 3s), t0);
    ASSERT_EQ(feed(s, syn(v, 3)), 8U);
    ASSERT_EQ(open(s), 2U);
    // One frame of each kind per timeout period; the last period stays silent.
    bytes const frames[] = {nop(v),    psh(v, 3, "x"),        psh(v, 3, ""), fin(v, 3),
                            syn(v, 5), psh(v, 99, "unknown"), fin(v, 77)};
    auto at = t0;
    for (auto const& f : frames) {
        at += 3s;
        s.on_timer(at - 1s);
        ASSERT_EQ(feed(s, f), f.size());
        s.on_timer(at);
        ASSERT_TRUE(s.is_alive()) << to_hex(f);
    }
    if (v == 2) {
        at += 3s;
        ASSERT_EQ(feed(s, upd(2, 2, 0, smux::core::initial_peer_window)), 16U);
        s.on_timer(at);
        ASSERT_TRUE(s.is_alive());
    }
    // Detection takes between one and two timeouts after the last frame.
    s.on_timer(at + 3s - 1ms);
    EXPECT_TRUE(s.is_alive());
    s.on_timer(at + 3s);
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);
}

TEST_P(keepalive, a_frame_split_across_calls_counts_once_complete) {
    int const v = GetParam();
    session s(role::server, timed_config(v, 1s, 3s), t0);
    bytes const f = nop(v);
    ASSERT_EQ(feed(s, std::span<std::byte const>(f).first(7)), 7U);
    s.on_timer(t0 + 3s);  // a partial header is not a frame yet (Go reads whole headers)
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);

    session t(role::server, timed_config(v, 1s, 3s), t0);
    ASSERT_EQ(feed(t, std::span<std::byte const>(f).first(7)), 7U);
    ASSERT_EQ(feed(t, std::span<std::byte const>(f).subspan(7)), 1U);
    t.on_timer(t0 + 3s);
    EXPECT_TRUE(t.is_alive());
}

TEST_P(keepalive, no_timeout_while_reading_is_paused_by_the_budget) {
    int const v = GetParam();
    auto cfg = timed_config(v, 1s, 3s);
    cfg.max_receive_buffer = 100'000;
    session s(role::server, cfg, t0);
    bytes const in = syn(v, 3) + psh(v, 3, pattern(1, 60'000)) + psh(v, 3, pattern(2, 60'000)) +
                     psh(v, 3, "more");
    std::size_t const took = feed(s, in);
    ASSERT_EQ(took, in.size() - 12U);
    ASSERT_FALSE(s.want_read());
    // Long silence while paused: no timeout (Go: bucket <= 0).
    bytes sent;
    for (auto at = t0 + 1s; at <= t0 + 120s; at += 1s) {
        s.on_timer(at);
        sent += take_output(s);
    }
    EXPECT_TRUE(s.is_alive());
    EXPECT_EQ(sent.size(), 120U * 8U);  // NOPs kept going out
    // Reading resumes; from the next check on, silence counts again.
    bytes got;
    ASSERT_EQ(read_some(s, 3, got, 50'000).state, read_result::status::data);
    ASSERT_TRUE(s.want_read());
    s.on_timer(t0 + 122s);
    EXPECT_TRUE(s.is_alive());
    s.on_timer(t0 + 123s);
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);
}

TEST_P(keepalive, disabled_sends_no_nop_and_never_times_out) {
    int const v = GetParam();
    auto cfg = make_config(v);
    cfg.keep_alive_disabled = true;
    session s(role::client, cfg, t0);
    EXPECT_FALSE(s.next_timer());
    for (int h = 1; h <= 48; ++h) {
        s.on_timer(t0 + std::chrono::hours(h));
    }
    EXPECT_TRUE(s.is_alive());
    EXPECT_TRUE(take_output(s).empty());
    EXPECT_FALSE(s.want_write());
    EXPECT_TRUE(take_events(s).empty());
}

TEST_P(keepalive, next_timer_follows_both_tickers) {
    int const v = GetParam();
    session s(role::client, timed_config(v, 10s, 25s), t0);
    bytes sent;
    auto tick = [&](std::chrono::milliseconds at) {
        s.on_timer(t0 + at);
        sent += take_output(s);
    };
    EXPECT_EQ(s.next_timer(), t0 + 10s);
    tick(10s);
    EXPECT_EQ(s.next_timer(), t0 + 20s);
    tick(20s);
    EXPECT_EQ(s.next_timer(), t0 + 25s);
    ASSERT_EQ(feed(s, nop(v)), 8U);
    tick(25s);
    EXPECT_EQ(s.next_timer(), t0 + 30s);
    tick(30s);
    EXPECT_EQ(s.next_timer(), t0 + 40s);
    ASSERT_EQ(feed(s, nop(v)), 8U);
    tick(40s);
    EXPECT_EQ(s.next_timer(), t0 + 50s);  // ping at 50, check at 50
    ASSERT_EQ(feed(s, nop(v)), 8U);
    tick(50s);
    EXPECT_EQ(s.next_timer(), t0 + 60s);
    EXPECT_EQ(sent.size(), 5U * 8U);
    // An early call changes nothing.
    s.on_timer(t0 + 55s);
    EXPECT_EQ(s.next_timer(), t0 + 60s);
    EXPECT_TRUE(take_output(s).empty());
    EXPECT_TRUE(s.is_alive());
}

TEST_P(keepalive, equal_interval_and_timeout) {
    int const v = GetParam();
    session s(role::client, timed_config(v, 5s, 5s), t0);
    EXPECT_EQ(s.next_timer(), t0 + 5s);
    ASSERT_EQ(feed(s, nop(v)), 8U);
    s.on_timer(t0 + 5s);
    EXPECT_TRUE(s.is_alive());
    EXPECT_EQ(take_output(s), nop(v));
    EXPECT_EQ(s.next_timer(), t0 + 10s);
    s.on_timer(t0 + 10s);
    EXPECT_EQ(s.terminal_error(), error::keepalive_timeout);
}

TEST_P(keepalive, missed_ticks_are_not_replayed) {
    int const v = GetParam();
    session s(role::client, timed_config(v, 1s, 100s), t0);
    s.on_timer(t0 + 5500ms);  // five ping ticks late: one NOP, like Go's dropping ticker
    EXPECT_EQ(take_output(s), nop(v));
    EXPECT_EQ(s.next_timer(), t0 + 6s);
    // A NOP not yet written when the next tick comes is not doubled.
    s.on_timer(t0 + 6s);
    s.on_timer(t0 + 7s);
    EXPECT_EQ(take_output(s), nop(v));
}

TEST_P(keepalive, two_engines_keep_each_other_alive) {
    int const v = GetParam();
    auto const cfg = timed_config(v, 1s, 3s);
    core_pair p(cfg, 42);
    for (int i = 0; i < 600; ++i) {
        p.advance(500ms);
        p.pump();
    }
    EXPECT_TRUE(p.client.is_alive());
    EXPECT_TRUE(p.server.is_alive());
    EXPECT_EQ(p.client.counters().frames_received, 300U);
    EXPECT_EQ(p.server.counters().frames_received, 300U);
}

TEST_P(keepalive, an_engine_with_keepalive_disabled_is_dropped_by_its_peer) {
    int const v = GetParam();
    auto silent = make_config(v);
    silent.keep_alive_disabled = true;
    core_pair p(silent, timed_config(v, 1s, 3s), 7);
    for (int i = 0; i < 5; ++i) {
        p.advance(1s);
        p.pump();
    }
    EXPECT_TRUE(p.client.is_alive());  // never times out, though it hears NOPs
    EXPECT_FALSE(p.server.is_alive());
    EXPECT_EQ(p.server.terminal_error(), error::keepalive_timeout);
    EXPECT_EQ(p.server_events.back().what, event::kind::closed);
}

INSTANTIATE_TEST_SUITE_P(versions, keepalive, ::testing::Values(1, 2), [](auto const& param_info) {
    return "v" + std::to_string(param_info.param);
});

}  // namespace
