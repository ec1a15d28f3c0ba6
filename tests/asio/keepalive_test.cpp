// Keep-alive with short timings (interval 50 ms, timeout 1 s): a silent peer is dropped with
// keepalive_timeout, idle smux peers stay connected, and a side whose own receive budget
// paused reading is not timed out. These tests are about time passing: they wait on timers.
// The timeout is 20 intervals so that live peers survive a stall of the test machine of most
// of a second; the exact timing of the rule is tested with a fake clock in tests/core, so
// only its lower bound is asserted here.

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

constexpr std::chrono::milliseconds interval{50};
constexpr std::chrono::milliseconds timeout{1000};

smux::config keepalive_config(int version) {
    smux::config cfg = make_config(version);
    cfg.keep_alive_interval = interval;
    cfg.keep_alive_timeout = timeout;
    return cfg;
}

/// Lets `d` pass on a timer while the sessions run.
::testing::AssertionResult let_time_pass(asio::io_context& ioc, clock::duration d) {
    asio::steady_timer t(ioc, d);
    bool passed = false;
    t.async_wait([&](smux::error_code) { passed = true; });
    return run_until(ioc, [&] { return passed; });  // allowed-sleep: keep-alive timing
}

class keepalive : public ::testing::TestWithParam<int> {};

TEST_P(keepalive, silent_peer_ends_the_session_with_keepalive_timeout) {
    int const version = GetParam();
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), silent(ioc);
    asio::local::connect_pair(a, silent);
    auto const start = clock::now();
    smux::local_session session(smux::role::client, std::move(a), keepalive_config(version));
    capture<smux::error_code, smux::stream> accept;
    session.async_accept_stream(accept.handler());
    capture<smux::error_code> wait;
    session.async_wait_closed(wait.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return wait.done && accept.done; }));
    auto const elapsed = clock::now() - start;

    EXPECT_EQ(wait.get<0>(), smux::error::keepalive_timeout) << wait.get<0>().message();
    EXPECT_TRUE(wait.get<0>() == smux::condition::session_terminated);
    EXPECT_EQ(accept.get<0>(), smux::error::keepalive_timeout) << accept.get<0>().message();
    EXPECT_FALSE(session.is_open());
    EXPECT_GE(elapsed, timeout);  // not before the first liveness check

    // Meanwhile the session sent keep-alives (NOP, stream id 0) and nothing else, then closed
    // the connection.
    bytes wire;
    capture<smux::error_code, std::size_t> drained;
    asio::async_read(silent, asio::dynamic_buffer(wire), drained.handler());
    ASSERT_TRUE(run_until(ioc, drained.ready()));
    EXPECT_EQ(drained.get<0>(), asio::error::eof) << drained.get<0>().message();
    EXPECT_EQ(wire.size() % 8, 0U);
    EXPECT_GE(wire.size(), 8U) << "no keep-alive was sent before the timeout";
    bytes const nop = smux_wire::nop(version);
    for (std::size_t i = 0; i + 8 <= wire.size(); i += 8) {
        EXPECT_TRUE(
            std::equal(nop.begin(), nop.end(), wire.begin() + static_cast<std::ptrdiff_t>(i)))
            << "frame at " << i << " is not a NOP";
    }
    EXPECT_GE(session.stats().frames_sent, 1U);
    EXPECT_EQ(session.stats().frames_received, 0U);
}

TEST_P(keepalive, idle_sessions_stay_alive_across_many_intervals) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, keepalive_config(GetParam()));
    capture<smux::error_code> client_end, server_end;
    p.client.async_wait_closed(client_end.handler());
    p.server.async_wait_closed(server_end.handler());

    ASSERT_TRUE(let_time_pass(ioc, 3 * timeout));  // 60 intervals, 3 timeouts
    EXPECT_FALSE(client_end.done) << client_end.get<0>().message();
    EXPECT_FALSE(server_end.done) << server_end.get<0>().message();
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
    // Each side received the other's NOPs (about 60; a loaded machine may skip ticks).
    EXPECT_GE(p.client.stats().frames_received, 5U);
    EXPECT_GE(p.server.stats().frames_received, 5U);

    // And the connection still carries streams.
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        std::string const text = "still here";
        co_await asio::async_write(c, asio::buffer(text), asio::use_awaitable);
        auto [ec, got] = co_await read_exactly(s, text.size());
        EXPECT_FALSE(ec);
        EXPECT_EQ(to_string(got), text);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(keepalive, disabled_keepalive_sends_nothing_and_never_times_out) {
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), silent(ioc);
    asio::local::connect_pair(a, silent);
    smux::config cfg = keepalive_config(GetParam());
    cfg.keep_alive_disabled = true;
    smux::local_session session(smux::role::client, std::move(a), cfg);
    capture<smux::error_code> wait;
    session.async_wait_closed(wait.handler());
    ASSERT_TRUE(let_time_pass(ioc, 2 * timeout));
    EXPECT_FALSE(wait.done) << wait.get<0>().message();
    EXPECT_TRUE(session.is_open());
    EXPECT_EQ(silent.available(), 0U);
    EXPECT_EQ(session.stats().frames_sent, 0U);
}

TEST_P(keepalive, reading_paused_by_the_own_receive_budget_is_not_a_timeout) {
    // The client buffers at most 64 KiB; the server sends 1 MiB on a stream the client does
    // not read yet, so the client stops reading the connection and sees no frames. It must
    // not blame the server for that.
    int const version = GetParam();
    smux::config client_cfg = keepalive_config(version);
    client_cfg.max_receive_buffer = 65536;
    asio::io_context ioc;
    auto p = make_local_pair(ioc, client_cfg, keepalive_config(version));
    capture<smux::error_code> client_end, server_end;
    p.client.async_wait_closed(client_end.handler());
    p.server.async_wait_closed(server_end.handler());
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    bytes const data = random_bytes(1024 * 1024, 81);
    capture<smux::error_code, std::size_t> written;
    asio::async_write(s, asio::buffer(data), written.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return p.client.stats().buffered_bytes >= 65536; }));

    ASSERT_TRUE(let_time_pass(ioc, 3 * timeout));
    EXPECT_FALSE(client_end.done) << client_end.get<0>().message();
    EXPECT_FALSE(server_end.done) << server_end.get<0>().message();

    // Reading resumes and everything arrives.
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto [ec, got] = co_await read_exactly(c, data.size());
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
    ASSERT_TRUE(run_until(ioc, written.ready()));
    EXPECT_FALSE(written.get<0>()) << written.get<0>().message();
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
}

INSTANTIATE_TEST_SUITE_P(versions, keepalive, ::testing::Values(1, 2), version_name);

}  // namespace
