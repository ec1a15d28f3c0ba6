// Many streams over one session: 1000 concurrent echoes over a socketpair and loopback TCP,
// stream ids and opening from both sides, refusal beyond max_streams, and the session counters.

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <random>
#include <set>
#include <utility>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

asio::awaitable<void> write_and_finish(smux::stream& s, bytes const& data) {
    co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
    s.shutdown_send();
}

/** Opens `count` streams, waits until all of them are open at once, then sends each a
    distinct payload that the server echoes; every echo is compared byte for byte. */
template <class NextLayer>
void thousand_stream_echo(asio::io_context& ioc, session_pair<NextLayer>& p) {
    constexpr int count = 1000;
    task_group tasks;
    event all_open(ioc.get_executor());
    int opened = 0;
    int verified = 0;
    std::vector<std::uint32_t> client_ids(count, 0);
    std::vector<std::uint32_t> server_ids;
    std::uint64_t open_at_once = 0;

    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < count; ++i) {
            smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
            server_ids.push_back(s.id());
            tasks.spawn(ioc, [s = std::move(s)]() mutable -> asio::awaitable<void> {
                co_await echo_until_eof(s);
            });
        }
    });

    std::mt19937_64 sizes(20240601);
    for (int i = 0; i < count; ++i) {
        std::size_t const size = std::uniform_int_distribution<std::size_t>(1, 65536)(sizes);
        tasks.spawn(ioc, [&, i, size]() -> asio::awaitable<void> {
            smux::stream s = co_await p.client.async_open_stream(asio::use_awaitable);
            client_ids[static_cast<std::size_t>(i)] = s.id();
            if (++opened == count) {
                open_at_once = p.client.stats().streams_open;
                all_open.notify();
            }
            co_await all_open.wait();
            bytes const payload = random_bytes(size, 1000 + static_cast<std::uint64_t>(i));
            auto [ec, echoed] = co_await (write_and_finish(s, payload) && read_to_end(s));
            EXPECT_EQ(ec, asio::error::eof) << "stream " << s.id() << ": " << ec.message();
            EXPECT_EQ(first_difference(echoed, payload), -1)
                << "stream " << s.id() << ": " << echoed.size() << " of " << payload.size()
                << " bytes echoed";
            if (ec == asio::error::eof && echoed == payload) {
                ++verified;
            }
            s.close();
        });
    }

    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(verified, count);
    EXPECT_EQ(open_at_once, static_cast<std::uint64_t>(count));

    // Client ids are 3, 5, 7, ... (the Go allocator's), each used once, and the server saw
    // exactly those.
    std::vector<std::uint32_t> sorted = client_ids;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < count; ++i) {
        EXPECT_EQ(sorted[static_cast<std::size_t>(i)], static_cast<std::uint32_t>(3 + 2 * i));
    }
    std::sort(server_ids.begin(), server_ids.end());
    EXPECT_EQ(server_ids, sorted);

    EXPECT_EQ(p.client.stats().streams_opened, static_cast<std::uint64_t>(count));
    EXPECT_EQ(p.client.stats().streams_accepted, 0U);
    EXPECT_EQ(p.server.stats().streams_accepted, static_cast<std::uint64_t>(count));
    EXPECT_EQ(p.server.stats().streams_opened, 0U);
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
}

class streams : public ::testing::TestWithParam<int> {};

TEST_P(streams, thousand_concurrent_streams_over_socketpair) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    thousand_stream_echo(ioc, p);
}

TEST_P(streams, thousand_concurrent_streams_over_loopback_tcp) {
    asio::io_context ioc;
    auto p = make_tcp_pair(ioc, make_config(GetParam()));
    EXPECT_TRUE(p.client.next_layer().local_endpoint().address().is_loopback());
    thousand_stream_echo(ioc, p);
}

TEST_P(streams, both_sides_open_streams_with_their_own_id_parity) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    EXPECT_EQ(p.client.session_role(), smux::role::client);
    EXPECT_EQ(p.server.session_role(), smux::role::server);
    constexpr int per_side = 20;
    task_group tasks;
    std::set<std::uint32_t> client_opened, server_opened, client_accepted, server_accepted;

    // Each side opens streams and sends "<side>:<index>", the other side answers with the
    // reversed text.
    auto opener = [&](auto& session, std::set<std::uint32_t>& ids, std::string side,
                      int i) -> asio::awaitable<void> {
        smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
        ids.insert(s.id());
        std::string const text = side + ":" + std::to_string(i);
        co_await asio::async_write(s, asio::buffer(text), asio::use_awaitable);
        s.shutdown_send();
        auto [ec, got] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        std::string expect(text.rbegin(), text.rend());
        EXPECT_EQ(to_string(got), expect);
    };
    auto acceptor = [&](auto& session, std::set<std::uint32_t>& ids) -> asio::awaitable<void> {
        for (int i = 0; i < per_side; ++i) {
            smux::stream s = co_await session.async_accept_stream(asio::use_awaitable);
            ids.insert(s.id());
            tasks.spawn(ioc, [s = std::move(s)]() mutable -> asio::awaitable<void> {
                auto [ec, got] = co_await read_to_end(s);
                EXPECT_EQ(ec, asio::error::eof);
                std::reverse(got.begin(), got.end());
                co_await asio::async_write(s, asio::buffer(got), asio::use_awaitable);
                s.shutdown_send();
            });
        }
    };
    tasks.spawn(ioc, [&] { return acceptor(p.client, client_accepted); });
    tasks.spawn(ioc, [&] { return acceptor(p.server, server_accepted); });
    for (int i = 0; i < per_side; ++i) {
        tasks.spawn(ioc, [&, i] { return opener(p.client, client_opened, "client", i); });
        tasks.spawn(ioc, [&, i] { return opener(p.server, server_opened, "server", i); });
    }
    ASSERT_TRUE(tasks.wait(ioc));

    ASSERT_EQ(client_opened.size(), static_cast<std::size_t>(per_side));
    ASSERT_EQ(server_opened.size(), static_cast<std::size_t>(per_side));
    EXPECT_EQ(*client_opened.begin(), 3U);
    EXPECT_EQ(*server_opened.begin(), 2U);
    for (auto id : client_opened) {
        EXPECT_EQ(id % 2, 1U) << id;
    }
    for (auto id : server_opened) {
        EXPECT_EQ(id % 2, 0U) << id;
        EXPECT_NE(id, 0U);
    }
    EXPECT_EQ(client_opened, server_accepted);
    EXPECT_EQ(server_opened, client_accepted);
}

TEST_P(streams, server_with_max_streams_one_refuses_the_second_stream_with_fin) {
    asio::io_context ioc;
    smux::config server_cfg = make_config(GetParam());
    server_cfg.max_streams = 1;
    auto p = make_local_pair(ioc, make_config(GetParam()), server_cfg);

    auto first = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(first);
    smux::stream& s1 = first->first;
    smux::stream& a1 = first->second;

    // The first stream works.
    std::string const ping = "ping";
    std::array<char, 16> buf{};
    capture<smux::error_code, std::size_t> wrote, read1;
    s1.async_write_some(asio::buffer(ping), wrote.handler());
    a1.async_read_some(asio::buffer(buf), read1.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return wrote.done && read1.done; }));
    EXPECT_FALSE(read1.get<0>());
    EXPECT_EQ(std::string(buf.data(), read1.get<1>()), ping);

    // An accept is pending on the server while the second SYN is refused: it must not get it.
    asio::cancellation_signal cancel_accept;
    capture<smux::error_code, smux::stream> accept2;
    p.server.async_accept_stream(
        asio::bind_cancellation_slot(cancel_accept.slot(), accept2.handler()));

    capture<smux::error_code, smux::stream> opened2;
    p.client.async_open_stream(opened2.handler());
    ASSERT_TRUE(run_until(ioc, opened2.ready()));
    ASSERT_FALSE(opened2.get<0>());
    smux::stream& s2 = opened2.get<1>();
    EXPECT_EQ(s2.id(), 5U);
    capture<smux::error_code, std::size_t> read2;
    s2.async_read_some(asio::buffer(buf), read2.handler());
    ASSERT_TRUE(run_until(ioc, read2.ready()));
    EXPECT_EQ(read2.get<0>(), asio::error::eof) << read2.get<0>().message();
    EXPECT_EQ(read2.get<1>(), 0U);
    EXPECT_EQ(p.server.stats().streams_refused, 1U);
    EXPECT_EQ(p.server.stats().streams_accepted, 1U);

    EXPECT_FALSE(accept2.done) << "the refused stream was handed to the application";
    cancel_accept.emit(asio::cancellation_type::terminal);
    ASSERT_TRUE(run_until(ioc, accept2.ready()));
    EXPECT_EQ(accept2.get<0>(), asio::error::operation_aborted);
    EXPECT_FALSE(accept2.get<1>().is_open());

    // The refusal is per stream: the session and the first stream go on.
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
    capture<smux::error_code, std::size_t> wrote_back, read_back;
    a1.async_write_some(asio::buffer(ping), wrote_back.handler());
    s1.async_read_some(asio::buffer(buf), read_back.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return wrote_back.done && read_back.done; }));
    EXPECT_FALSE(read_back.get<0>());
    EXPECT_EQ(std::string(buf.data(), read_back.get<1>()), ping);

    // Once the first stream is gone on the server, a new one is admitted again.
    a1.close();
    s1.close();
    ASSERT_TRUE(run_until(ioc, [&] { return p.server.stats().streams_open == 0; }));
    auto third = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->first.id(), 7U);
    EXPECT_EQ(third->second.id(), 7U);
}

TEST_P(streams, stats_count_streams_frames_and_bytes) {
    int const version = GetParam();
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(version));
    auto const zero = p.client.stats();
    EXPECT_EQ(zero.bytes_sent, 0U);
    EXPECT_EQ(zero.frames_sent, 0U);
    EXPECT_EQ(zero.streams_opened, 0U);
    EXPECT_EQ(zero.streams_open, 0U);

    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    EXPECT_EQ(p.client.stats().streams_opened, 1U);
    EXPECT_EQ(p.client.stats().streams_open, 1U);
    EXPECT_EQ(p.server.stats().streams_accepted, 1U);
    EXPECT_EQ(p.server.stats().streams_open, 1U);
    ASSERT_TRUE(run_until(ioc, [&] { return p.client.stats().frames_sent >= 1; }));
    EXPECT_EQ(p.client.stats().frames_sent, 1U);  // SYN
    EXPECT_EQ(p.client.stats().bytes_sent, 8U);
    EXPECT_EQ(p.server.stats().frames_received, 1U);
    EXPECT_EQ(p.server.stats().bytes_received, 8U);

    // "hello" is one PSH frame of 8 + 5 bytes; unread, it is counted as buffered.
    std::string const hello = "hello";
    capture<smux::error_code, std::size_t> wrote;
    c.async_write_some(asio::buffer(hello), wrote.handler());
    ASSERT_TRUE(
        run_until(ioc, [&] { return wrote.done && p.server.stats().frames_received == 2; }));
    EXPECT_FALSE(wrote.get<0>());
    EXPECT_EQ(wrote.get<1>(), 5U);
    EXPECT_EQ(p.client.stats().frames_sent, 2U);
    EXPECT_EQ(p.client.stats().bytes_sent, 21U);
    EXPECT_EQ(p.server.stats().bytes_received, 21U);
    EXPECT_EQ(p.server.stats().buffered_bytes, 5U);

    std::array<char, 16> buf{};
    capture<smux::error_code, std::size_t> got;
    s.async_read_some(asio::buffer(buf), got.handler());
    ASSERT_TRUE(run_until(ioc, got.ready()));
    EXPECT_EQ(got.get<1>(), 5U);
    EXPECT_EQ(p.server.stats().buffered_bytes, 0U);

    // The answer: in version 2 the first read also sends a window update (UPD, 8 + 8 bytes).
    std::string const world = "world!";
    capture<smux::error_code, std::size_t> wrote_back, got_back;
    s.async_write_some(asio::buffer(world), wrote_back.handler());
    c.async_read_some(asio::buffer(buf), got_back.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return wrote_back.done && got_back.done; }));
    EXPECT_EQ(std::string(buf.data(), got_back.get<1>()), world);
    std::uint64_t const upd_frames = version == 2 ? 1 : 0;
    EXPECT_EQ(p.server.stats().frames_sent, 1 + upd_frames);
    EXPECT_EQ(p.server.stats().bytes_sent, 14 + 16 * upd_frames);
    EXPECT_EQ(p.client.stats().frames_received, 1 + upd_frames);
    EXPECT_EQ(p.client.stats().bytes_received, 14 + 16 * upd_frames);

    // A stream opened by the server counts as accepted on the client.
    auto back = open_pair_now(ioc, p.server, p.client);
    ASSERT_TRUE(back);
    EXPECT_EQ(p.server.stats().streams_opened, 1U);
    EXPECT_EQ(p.client.stats().streams_accepted, 1U);
    EXPECT_EQ(p.client.stats().streams_open, 2U);
    EXPECT_EQ(p.server.stats().streams_open, 2U);
    EXPECT_EQ(p.client.stats().streams_refused, 0U);

    // Closing both ends of both streams empties the tables (FIN sent and received).
    c.close();
    s.close();
    back->first.close();
    back->second.close();
    ASSERT_TRUE(run_until(ioc, [&] {
        return p.client.stats().streams_open == 0 && p.server.stats().streams_open == 0;
    }));
    // Bytes sent on one side are bytes received on the other once both are quiet.
    ASSERT_TRUE(run_until(ioc, [&] {
        return p.client.stats().bytes_sent == p.server.stats().bytes_received &&
               p.server.stats().bytes_sent == p.client.stats().bytes_received;
    }));
    EXPECT_EQ(p.client.stats().frames_sent, p.server.stats().frames_received);
    EXPECT_EQ(p.server.stats().frames_sent, p.client.stats().frames_received);
}

TEST_P(streams, in_place_constructed_tcp_session) {
    asio::io_context ioc;
    auto [c, s] = make_tcp_sockets(ioc);
    smux::config const cfg = make_config(GetParam());
    smux::tcp_session client(smux::role::client, cfg, std::in_place, std::move(c));
    smux::tcp_session server(smux::role::server, cfg, std::in_place, std::move(s));
    EXPECT_EQ(client.configuration().version, GetParam());
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(client, server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        bytes const data = random_bytes(100000, 7);
        auto [rec, got] = co_await (write_and_finish(a, data) && read_to_end(b));
        EXPECT_EQ(rec, asio::error::eof);
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST(streams_config, invalid_config_throws_config_error_and_leaves_the_connection_to_the_caller) {
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), b(ioc);
    asio::local::connect_pair(a, b);
    smux::config cfg;
    cfg.version = 3;
    EXPECT_THROW(smux::local_session(smux::role::client, std::move(a), cfg), smux::config_error);
    cfg.version = 1;
    cfg.max_frame_size = 70000;
    EXPECT_THROW(smux::local_session(smux::role::client, std::move(b), cfg), smux::config_error);
    EXPECT_THROW(smux::local_session(smux::role::client, cfg, std::in_place, std::move(b)),
                 smux::config_error);

    // Both sockets are still open and connected: a valid session can use them now.
    ASSERT_TRUE(a.is_open());
    ASSERT_TRUE(b.is_open());
    smux::local_session client(smux::role::client, std::move(a), quiet_config(1));
    smux::local_session server(smux::role::server, std::move(b), quiet_config(1));
    auto pair = open_pair_now(ioc, client, server);
    ASSERT_TRUE(pair);
    EXPECT_EQ(pair->first.id(), pair->second.id());
}

INSTANTIATE_TEST_SUITE_P(versions, streams, ::testing::Values(1, 2), version_name);

}  // namespace
