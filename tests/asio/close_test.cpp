// Ends of sessions and streams: close, graceful shutdown, dropped handles and transport
// failures complete every pending operation; buffered data stays readable; stream close and
// concurrent operations on one stream.

#include <gtest/gtest.h>

#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <atomic>
#include <optional>
#include <thread>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

using io_result = capture<smux::error_code, std::size_t>;
using stream_result = capture<smux::error_code, smux::stream>;
using wait_result = capture<smux::error_code>;

/// Reads until an error with the loop driven here; returns the error and the bytes.
std::pair<smux::error_code, bytes> drain_now(asio::io_context& ioc, smux::stream& s) {
    bytes got;
    bytes buf(65536);
    for (;;) {
        io_result r;
        s.async_read_some(asio::buffer(buf), r.handler());
        if (!run_until(ioc, r.ready())) {
            ADD_FAILURE() << "read did not complete";
            return {make_error_code(std::errc::timed_out), got};
        }
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.get<1>()));
        if (r.get<0>()) {
            return {r.get<0>(), got};
        }
    }
}

class session_close : public ::testing::TestWithParam<int> {};

TEST_P(session_close, local_close_completes_every_pending_operation_on_both_sides) {
    int const version = GetParam();
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(version));
    auto one = open_pair_now(ioc, p.client, p.server);    // reads pending on both ends
    auto two = open_pair_now(ioc, p.client, p.server);    // client -> server, left unread
    auto three = open_pair_now(ioc, p.client, p.server);  // server -> client, left unread
    ASSERT_TRUE(one && two && three);
    smux::stream& c1 = one->first;
    smux::stream& s1 = one->second;
    smux::stream& c2 = two->first;
    smux::stream& s2 = two->second;
    smux::stream& c3 = three->first;
    smux::stream& s3 = three->second;

    // Fill: in version 2 exactly the initial window, so the next writes wait for a window.
    std::size_t const fill = version == 2 ? v2_initial_window : 100000;
    bytes const to_server = random_bytes(fill + 50000, 51);
    bytes const to_client = random_bytes(fill + 50000, 52);
    io_result c2_first, s3_first;
    c2.async_write_some(asio::buffer(to_server.data(), version == 2 ? to_server.size() : fill),
                        c2_first.handler());
    s3.async_write_some(asio::buffer(to_client.data(), version == 2 ? to_client.size() : fill),
                        s3_first.handler());
    ASSERT_TRUE(run_until(ioc, [&] {
        return c2_first.done && s3_first.done && p.server.stats().buffered_bytes == fill &&
               p.client.stats().buffered_bytes == fill;
    }));
    ASSERT_EQ(c2_first.get<1>(), fill);
    ASSERT_EQ(s3_first.get<1>(), fill);

    io_result c2_blocked, s3_blocked;
    if (version == 2) {
        c2.async_write_some(asio::buffer(to_server.data() + fill, 50000), c2_blocked.handler());
        s3.async_write_some(asio::buffer(to_client.data() + fill, 50000), s3_blocked.handler());
    }
    std::array<char, 64> c1_buf{}, s1_buf{};
    io_result c1_read, s1_read;
    c1.async_read_some(asio::buffer(c1_buf), c1_read.handler());
    s1.async_read_some(asio::buffer(s1_buf), s1_read.handler());
    stream_result c_accept, s_accept;
    p.client.async_accept_stream(c_accept.handler());
    p.server.async_accept_stream(s_accept.handler());
    wait_result c_wait, s_wait;
    p.client.async_wait_closed(c_wait.handler());
    p.server.async_wait_closed(s_wait.handler());
    run_ready(ioc);
    ASSERT_FALSE(c1_read.done || s1_read.done || c_accept.done || s_accept.done || c_wait.done ||
                 s_wait.done || c2_blocked.done || s3_blocked.done);

    p.client.close();
    ASSERT_TRUE(run_until(ioc, [&] {
        return c1_read.done && s1_read.done && c_accept.done && s_accept.done && c_wait.done &&
               s_wait.done && (version == 1 || (c2_blocked.done && s3_blocked.done));
    }));

    smux::error_code const local = smux::error::session_closed;
    smux::error_code const remote = smux::error::connection_closed;
    EXPECT_EQ(c_wait.get<0>(), local) << c_wait.get<0>().message();
    EXPECT_EQ(c1_read.get<0>(), local) << c1_read.get<0>().message();
    EXPECT_EQ(c_accept.get<0>(), local) << c_accept.get<0>().message();
    EXPECT_FALSE(c_accept.get<1>().is_open());
    EXPECT_EQ(s_wait.get<0>(), remote) << s_wait.get<0>().message();
    EXPECT_EQ(s1_read.get<0>(), remote) << s1_read.get<0>().message();
    EXPECT_EQ(s_accept.get<0>(), remote) << s_accept.get<0>().message();
    if (version == 2) {
        EXPECT_EQ(c2_blocked.get<0>(), local) << c2_blocked.get<0>().message();
        EXPECT_EQ(c2_blocked.get<1>(), 0U);
        EXPECT_EQ(s3_blocked.get<0>(), remote) << s3_blocked.get<0>().message();
        EXPECT_EQ(s3_blocked.get<1>(), 0U);
    }
    EXPECT_TRUE(c_wait.get<0>() == smux::condition::session_terminated);
    EXPECT_TRUE(s_wait.get<0>() == smux::condition::session_terminated);
    EXPECT_FALSE(c_wait.get<0>() == smux::condition::protocol_violation);
    EXPECT_FALSE(p.client.is_open());
    EXPECT_FALSE(p.server.is_open());

    // Buffered bytes are still read after the end, then the terminal error.
    auto [c3_ec, c3_got] = drain_now(ioc, c3);
    EXPECT_EQ(c3_ec, local) << c3_ec.message();
    EXPECT_EQ(c3_got.size(), fill);
    EXPECT_TRUE(std::equal(c3_got.begin(), c3_got.end(), to_client.begin()));
    auto [s2_ec, s2_got] = drain_now(ioc, s2);
    EXPECT_EQ(s2_ec, remote) << s2_ec.message();
    EXPECT_EQ(s2_got.size(), fill);
    EXPECT_TRUE(std::equal(s2_got.begin(), s2_got.end(), to_server.begin()));

    // Everything started after the end fails at once with the same error.
    stream_result c_open, s_open, c_accept2;
    wait_result c_wait2, s_wait2;
    io_result c1_write;
    p.client.async_open_stream(c_open.handler());
    p.server.async_open_stream(s_open.handler());
    p.client.async_accept_stream(c_accept2.handler());
    p.client.async_wait_closed(c_wait2.handler());
    p.server.async_wait_closed(s_wait2.handler());
    c1.async_write_some(asio::buffer(to_server.data(), 10), c1_write.handler());
    ASSERT_TRUE(run_until(ioc, [&] {
        return c_open.done && s_open.done && c_accept2.done && c_wait2.done && s_wait2.done &&
               c1_write.done;
    }));
    EXPECT_EQ(c_open.get<0>(), local) << c_open.get<0>().message();
    EXPECT_EQ(s_open.get<0>(), remote) << s_open.get<0>().message();
    EXPECT_EQ(c_accept2.get<0>(), local) << c_accept2.get<0>().message();
    EXPECT_EQ(c_wait2.get<0>(), local) << c_wait2.get<0>().message();
    EXPECT_EQ(s_wait2.get<0>(), remote) << s_wait2.get<0>().message();
    EXPECT_EQ(c1_write.get<0>(), local) << c1_write.get<0>().message();
    EXPECT_EQ(c1_write.get<1>(), 0U);

    // Closing again is harmless and changes nothing.
    p.client.close();
    p.client.close();
    wait_result c_wait3;
    p.client.async_wait_closed(c_wait3.handler());
    ASSERT_TRUE(run_until(ioc, c_wait3.ready()));
    EXPECT_EQ(c_wait3.get<0>(), local);
}

TEST_P(session_close, write_stalled_by_a_peer_that_stopped_reading_completes_on_close) {
    // The server buffers at most 64 KiB and nobody reads, so it stops reading the connection
    // and the client's 8 MiB write cannot finish.
    int const version = GetParam();
    smux::config server_cfg = quiet_config(version);
    server_cfg.max_receive_buffer = 65536;
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(version), server_cfg);
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    bytes const data = random_bytes(8 * 1024 * 1024, 53);
    io_result w;
    asio::async_write(c, asio::buffer(data), w.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return p.server.stats().buffered_bytes >= 65536; }));
    run_ready(ioc);
    ASSERT_FALSE(w.done);

    p.client.close();
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_EQ(w.get<0>(), smux::error::session_closed) << w.get<0>().message();
    EXPECT_LT(w.get<1>(), data.size());

    // The server reads what arrived (a prefix of the data), then learns the connection ended.
    auto [ec, got] = drain_now(ioc, s);
    EXPECT_EQ(ec, smux::error::connection_closed) << ec.message();
    EXPECT_GE(got.size(), 65536U);
    EXPECT_LE(got.size(), data.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
}

TEST_P(session_close, graceful_shutdown_flushes_data_and_fin_then_closes) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    constexpr int count = 3;
    std::vector<smux::stream> clients, servers;
    for (int i = 0; i < count; ++i) {
        auto pair = open_pair_now(ioc, p.client, p.server);
        ASSERT_TRUE(pair);
        clients.push_back(std::move(pair->first));
        servers.push_back(std::move(pair->second));
    }
    std::vector<bytes> data;
    std::vector<io_result> writes(count);
    for (int i = 0; i < count; ++i) {
        data.push_back(random_bytes(100000 + 1000 * static_cast<std::size_t>(i),
                                    60 + static_cast<std::uint64_t>(i)));
    }
    // Each write is accepted whole (within the v2 window) and still queued when the
    // shutdown starts.
    for (std::size_t i = 0; i < count; ++i) {
        clients[i].async_write_some(asio::buffer(data[i]), writes[i].handler());
    }
    wait_result shutdown, s_wait;
    p.client.async_shutdown(shutdown.handler());
    p.server.async_wait_closed(s_wait.handler());

    for (std::size_t i = 0; i < count; ++i) {
        auto [ec, got] = drain_now(ioc, servers[i]);
        EXPECT_EQ(ec, asio::error::eof) << "stream " << i << ": " << ec.message();
        EXPECT_EQ(first_difference(got, data[i]), -1) << "stream " << i;
    }
    ASSERT_TRUE(run_until(ioc, [&] { return shutdown.done && s_wait.done; }));
    EXPECT_FALSE(shutdown.get<0>()) << shutdown.get<0>().message();
    EXPECT_EQ(s_wait.get<0>(), smux::error::connection_closed) << s_wait.get<0>().message();
    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_TRUE(run_until(ioc, writes[i].ready()));
        EXPECT_FALSE(writes[i].get<0>()) << writes[i].get<0>().message();
        EXPECT_EQ(writes[i].get<1>(), data[i].size());
    }
    EXPECT_FALSE(p.client.is_open());
    wait_result c_wait;
    p.client.async_wait_closed(c_wait.handler());
    ASSERT_TRUE(run_until(ioc, c_wait.ready()));
    EXPECT_EQ(c_wait.get<0>(), smux::error::session_closed) << c_wait.get<0>().message();
}

using session_close_v2 = stream_pair_test<>;

TEST_F(session_close_v2, graceful_shutdown_with_a_write_blocked_on_the_window_does_not_hang) {
    ASSERT_TRUE(open(quiet_config(2)));
    bytes const data = random_bytes(300000, 61);
    io_result first;
    c.async_write_some(asio::buffer(data), first.handler());
    ASSERT_TRUE(run_until(ioc, first.ready()));
    ASSERT_EQ(first.get<1>(), v2_initial_window);
    io_result blocked;
    c.async_write_some(
        asio::buffer(data.data() + v2_initial_window, data.size() - v2_initial_window),
        blocked.handler());
    wait_result shutdown;
    client().async_shutdown(shutdown.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return shutdown.done && blocked.done; }));
    EXPECT_FALSE(shutdown.get<0>()) << shutdown.get<0>().message();
    EXPECT_TRUE(blocked.get<0>()) << "a write that never went out reported success";
    auto [ec, got] = drain_now(ioc, s);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    EXPECT_EQ(got.size(), v2_initial_window);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
}

TEST_P(session_close, dropping_the_session_handle_closes_it_and_streams_outlive_it) {
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), b(ioc);
    asio::local::connect_pair(a, b);
    auto client = std::make_optional<smux::local_session>(smux::role::client, std::move(a),
                                                          quiet_config(GetParam()));
    smux::local_session server(smux::role::server, std::move(b), quiet_config(GetParam()));

    stream_result opened, accepted;
    client->async_open_stream(opened.handler());
    server.async_accept_stream(accepted.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return opened.done && accepted.done; }));
    smux::stream c = std::move(opened.get<1>());
    smux::stream s = std::move(accepted.get<1>());
    std::string const text = "kept after the end";
    io_result w;
    s.async_write_some(asio::buffer(text), w.handler());
    ASSERT_TRUE(
        run_until(ioc, [&] { return w.done && client->stats().buffered_bytes == text.size(); }));

    wait_result s_wait;
    server.async_wait_closed(s_wait.handler());
    client.reset();
    ASSERT_TRUE(run_until(ioc, s_wait.ready()));
    EXPECT_EQ(s_wait.get<0>(), smux::error::connection_closed) << s_wait.get<0>().message();

    auto [ec, got] = drain_now(ioc, c);
    EXPECT_EQ(ec, smux::error::session_closed) << ec.message();
    EXPECT_EQ(to_string(got), text);
    io_result cw;
    c.async_write_some(asio::buffer(text), cw.handler());
    ASSERT_TRUE(run_until(ioc, cw.ready()));
    EXPECT_EQ(cw.get<0>(), smux::error::session_closed) << cw.get<0>().message();
}

TEST_P(session_close, move_assigning_a_session_closes_the_one_it_held) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto q = make_local_pair(ioc, quiet_config(GetParam()));
    wait_result s_wait;
    p.server.async_wait_closed(s_wait.handler());
    p.client = std::move(q.client);
    ASSERT_TRUE(run_until(ioc, s_wait.ready()));
    EXPECT_EQ(s_wait.get<0>(), smux::error::connection_closed);
    // The moved-in session works.
    auto pair = open_pair_now(ioc, p.client, q.server);
    ASSERT_TRUE(pair);
    EXPECT_TRUE(p.client.is_open());
}

TEST_P(session_close, transport_reset_is_reported_unchanged_on_both_sides) {
    asio::io_context ioc;
    auto p = make_duplex_pair(ioc, quiet_config(GetParam()));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    std::array<char, 16> cb{}, sb{};
    io_result cr, sr;
    c.async_read_some(asio::buffer(cb), cr.handler());
    s.async_read_some(asio::buffer(sb), sr.handler());
    wait_result cw, sw;
    p.client.async_wait_closed(cw.handler());
    p.server.async_wait_closed(sw.handler());
    run_ready(ioc);
    EXPECT_EQ(p.server.terminal_error(), std::nullopt) << "the session is still open";
    asio::dispatch(p.server.get_executor(),
                   [&] { p.server.next_layer().reset(asio::error::connection_reset); });
    ASSERT_TRUE(run_until(ioc, [&] { return cr.done && sr.done && cw.done && sw.done; }));
    EXPECT_EQ(cw.get<0>(), asio::error::connection_reset) << cw.get<0>().message();
    EXPECT_EQ(sw.get<0>(), asio::error::connection_reset) << sw.get<0>().message();
    EXPECT_EQ(cr.get<0>(), asio::error::connection_reset) << cr.get<0>().message();
    EXPECT_EQ(sr.get<0>(), asio::error::connection_reset) << sr.get<0>().message();
    // "Is the session over?" holds for the connection's own error too, and the reason can be
    // asked for without waiting.
    for (auto const& ec : {cw.get<0>(), sw.get<0>(), cr.get<0>(), sr.get<0>()}) {
        EXPECT_EQ(ec, smux::condition::session_terminated) << ec.message();
        EXPECT_NE(ec, smux::condition::protocol_violation) << ec.message();
    }
    EXPECT_EQ(p.client.terminal_error(), std::optional(cw.get<0>()));
    EXPECT_EQ(p.server.terminal_error(), std::optional(sw.get<0>()));
    EXPECT_TRUE(close_and_drain(ioc, p));
}

TEST_P(session_close, transport_write_failure_ends_the_session_with_that_error) {
    asio::io_context ioc;
    auto p = make_duplex_pair(ioc, quiet_config(GetParam()));
    // Nothing has run yet: the transport can be set up from here.
    p.client.next_layer().fail_after(6, asio::error::network_down);
    wait_result cw;
    p.client.async_wait_closed(cw.handler());
    task_group tasks;
    smux::error_code write_error;
    smux::error_code read_error;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        smux::stream c = co_await p.client.async_open_stream(asio::use_awaitable);
        auto reader = [&]() -> asio::awaitable<void> {
            auto [ec, got] = co_await read_to_end(c);
            read_error = ec;
        };
        auto writer = [&]() -> asio::awaitable<void> {
            std::string const chunk(1000, 'x');
            for (int i = 0; i < 1000; ++i) {
                auto [ec, n] =
                    co_await asio::async_write(c, asio::buffer(chunk), as_tuple_awaitable);
                if (ec) {
                    write_error = ec;
                    co_return;
                }
            }
        };
        co_await (reader() && writer());
    });
    ASSERT_TRUE(tasks.wait(ioc));
    ASSERT_TRUE(run_until(ioc, cw.ready()));
    EXPECT_EQ(cw.get<0>(), asio::error::network_down) << cw.get<0>().message();
    EXPECT_EQ(write_error, asio::error::network_down) << write_error.message();
    EXPECT_EQ(read_error, asio::error::network_down) << read_error.message();
    EXPECT_TRUE(close_and_drain(ioc, p));
}

INSTANTIATE_TEST_SUITE_P(versions, session_close, ::testing::Values(1, 2), version_name);

class stream_close : public stream_pair_test<::testing::TestWithParam<int>> {};

TEST_P(stream_close, close_aborts_the_pending_read_and_the_peer_sees_eof) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    std::array<char, 16> buf{}, peer_buf{};
    io_result r, peer;
    s.async_read_some(asio::buffer(buf), r.handler());
    c.async_read_some(asio::buffer(peer_buf), peer.handler());
    run_ready(ioc);
    ASSERT_FALSE(r.done);
    s.close();
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(s.id(), 0U);
    ASSERT_TRUE(run_until(ioc, [&] { return r.done && peer.done; }));
    EXPECT_EQ(r.get<0>(), asio::error::operation_aborted) << r.get<0>().message();
    EXPECT_EQ(r.get<1>(), 0U);
    EXPECT_EQ(peer.get<0>(), asio::error::eof) << peer.get<0>().message();

    // The emptied handle fails everything with stream_closed, never inside the call.
    bool initiating = true;
    bool inline_call = false;
    io_result er, ew;
    s.async_read_some(asio::buffer(buf),
                      asio::bind_executor(ioc, [&](smux::error_code ec, std::size_t n) {
                          inline_call = inline_call || initiating;
                          er.handler()(ec, n);
                      }));
    s.async_write_some(asio::buffer(buf),
                       asio::bind_executor(ioc, [&](smux::error_code ec, std::size_t n) {
                           inline_call = inline_call || initiating;
                           ew.handler()(ec, n);
                       }));
    initiating = false;
    ASSERT_TRUE(run_until(ioc, [&] { return er.done && ew.done; }));
    EXPECT_FALSE(inline_call);
    EXPECT_EQ(er.get<0>(), smux::error::stream_closed) << er.get<0>().message();
    EXPECT_EQ(ew.get<0>(), smux::error::stream_closed) << ew.get<0>().message();
    s.close();
    s.cancel();
    s.shutdown_send();

    // The peer's direction: writing to a stream the other side closed is not an error, and
    // the session is unaffected.
    io_result cw;
    std::string const lost = "dropped by the peer";
    c.async_write_some(asio::buffer(lost), cw.handler());
    ASSERT_TRUE(run_until(ioc, cw.ready()));
    EXPECT_FALSE(cw.get<0>()) << cw.get<0>().message();
    auto next = open_pair_now(ioc, client(), server());
    ASSERT_TRUE(next);
    io_result nw, nr;
    std::string const text = "next";
    next->first.async_write_some(asio::buffer(text), nw.handler());
    next->second.async_read_some(asio::buffer(buf), nr.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return nw.done && nr.done; }));
    EXPECT_EQ(std::string(buf.data(), nr.get<1>()), text);
}

TEST_P(stream_close, closed_handle_completes_on_the_callers_event_loop_not_another_thread) {
    // A handle that belonged to a session keeps completing on that session's event loop after
    // close(): a plain callback must neither run inside the call nor on a foreign thread.
    ASSERT_TRUE(open(quiet_config(GetParam())));
    s.close();
    std::atomic<bool> initiating{true};
    std::atomic<bool> inline_call{false};
    std::atomic<bool> done{false};
    std::atomic<std::thread::id> ran_on{};
    std::atomic<int> code{0};
    std::array<char, 4> buf{};
    s.async_read_some(asio::buffer(buf), [&](smux::error_code ec, std::size_t) {
        inline_call = initiating.load();
        ran_on = std::this_thread::get_id();
        code = ec.value();
        done = true;
        asio::post(ioc, [] {});  // wakes the loop below wherever this runs
    });
    initiating = false;
    ASSERT_TRUE(run_until(ioc, [&] { return done.load(); }));
    EXPECT_FALSE(inline_call.load());
    EXPECT_EQ(ran_on.load(), std::this_thread::get_id())
        << "the handler ran on a thread that does not run the session's io_context";
    EXPECT_EQ(code.load(), static_cast<int>(smux::error::stream_closed));
}

TEST(stream_handle, default_constructed_handle_fails_with_stream_closed) {
    asio::io_context ioc;
    smux::stream s;
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(s.id(), 0U);
    std::array<char, 4> buf{};
    io_result r, w;
    s.async_read_some(asio::buffer(buf), asio::bind_executor(ioc, r.handler()));
    s.async_write_some(asio::buffer(buf), asio::bind_executor(ioc, w.handler()));
    EXPECT_FALSE(r.done || w.done);
    ASSERT_TRUE(run_until(ioc, [&] { return r.done && w.done; }));
    EXPECT_EQ(r.get<0>(), smux::error::stream_closed) << r.get<0>().message();
    EXPECT_EQ(w.get<0>(), smux::error::stream_closed) << w.get<0>().message();
    s.close();
    s.cancel();
    s.shutdown_send();
}

TEST_P(stream_close, destroying_the_handle_sends_fin) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    std::string const last = "last words";
    io_result w;
    c.async_write_some(asio::buffer(last), w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    { smux::stream dying = std::move(c); }
    EXPECT_FALSE(c.is_open());
    auto [ec, got] = drain_now(ioc, s);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    EXPECT_EQ(to_string(got), last);
}

TEST_P(stream_close, closing_with_unread_data_returns_the_receive_budget) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    bytes const data = random_bytes(200000, 71);
    io_result w;
    asio::async_write(c, asio::buffer(data), w.handler());
    ASSERT_TRUE(
        run_until(ioc, [&] { return w.done && server().stats().buffered_bytes == data.size(); }));
    s.close();
    ASSERT_TRUE(run_until(ioc, [&] { return server().stats().buffered_bytes == 0; }));
    EXPECT_EQ(server().stats().buffered_bytes, 0U);
}

TEST_P(stream_close, second_concurrent_read_fails_with_operation_in_progress) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    std::array<char, 16> buf1{}, buf2{};
    io_result r1, r2;
    s.async_read_some(asio::buffer(buf1), r1.handler());
    s.async_read_some(asio::buffer(buf2), r2.handler());
    ASSERT_TRUE(run_until(ioc, r2.ready()));
    EXPECT_EQ(r2.get<0>(), smux::error::operation_in_progress) << r2.get<0>().message();
    EXPECT_EQ(r2.get<1>(), 0U);
    EXPECT_FALSE(r1.done);
    // The first read goes on and gets the data.
    std::string const text = "first";
    io_result w;
    c.async_write_some(asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, r1.ready()));
    EXPECT_FALSE(r1.get<0>()) << r1.get<0>().message();
    EXPECT_EQ(std::string(buf1.data(), r1.get<1>()), text);
}

using stream_close_v2 = stream_pair_test<>;

TEST_F(stream_close_v2, second_concurrent_write_fails_with_operation_in_progress) {
    ASSERT_TRUE(open(quiet_config(2)));
    bytes const data = random_bytes(v2_initial_window + 10, 72);
    io_result first;
    c.async_write_some(asio::buffer(data), first.handler());
    ASSERT_TRUE(run_until(ioc, first.ready()));
    ASSERT_EQ(first.get<1>(), v2_initial_window);
    io_result blocked, second;
    c.async_write_some(asio::buffer(data.data() + v2_initial_window, 10), blocked.handler());
    c.async_write_some(asio::buffer(data.data() + v2_initial_window, 10), second.handler());
    ASSERT_TRUE(run_until(ioc, second.ready()));
    EXPECT_EQ(second.get<0>(), smux::error::operation_in_progress) << second.get<0>().message();
    EXPECT_FALSE(blocked.done);
    // Reading opens the window and the first write goes on.
    smux::error_code ec;
    bytes got;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await read_exactly(s, data.size());
        ec = r.first;
        got = std::move(r.second);
    });
    ASSERT_TRUE(tasks.wait(ioc));
    ASSERT_TRUE(run_until(ioc, blocked.ready()));
    EXPECT_FALSE(blocked.get<0>()) << blocked.get<0>().message();
    EXPECT_EQ(blocked.get<1>(), 10U);
    EXPECT_FALSE(ec);
    EXPECT_EQ(first_difference(got, data), -1);
}

INSTANTIATE_TEST_SUITE_P(versions, stream_close, ::testing::Values(1, 2), version_name);

}  // namespace
