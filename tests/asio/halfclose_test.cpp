// Half-close: shutdown_send delivers FIN after the data, the peer reads everything then end of
// file and may still answer; after both sides sent FIN nothing is lost; writes after
// shutdown_send fail with broken_pipe.

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

class half_close : public ::testing::TestWithParam<int> {};

TEST_P(half_close, peer_reads_everything_then_eof_and_can_still_answer) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    bytes const request = random_bytes(700000, 21);  // beyond the v2 window and one frame
    bytes const response = random_bytes(500000, 22);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        auto client = [&]() -> asio::awaitable<std::pair<smux::error_code, bytes>> {
            co_await asio::async_write(c, asio::buffer(request), asio::use_awaitable);
            c.shutdown_send();
            co_return co_await read_to_end(c);
        };
        auto server = [&]() -> asio::awaitable<void> {
            auto [ec, got] = co_await read_to_end(s);
            EXPECT_EQ(ec, asio::error::eof);
            EXPECT_EQ(first_difference(got, request), -1);
            // End of file is sticky.
            std::array<char, 8> more{};
            auto [ec2, n2] = co_await s.async_read_some(asio::buffer(more), as_tuple_awaitable);
            EXPECT_EQ(ec2, asio::error::eof);
            EXPECT_EQ(n2, 0U);
            // Our direction is still open.
            co_await asio::async_write(s, asio::buffer(response), asio::use_awaitable);
            s.shutdown_send();
        };
        auto [ec, got] = co_await (client() && server());
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(got, response), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
}

TEST_P(half_close, write_after_shutdown_send_fails_with_broken_pipe) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        std::string const before = "before";
        co_await asio::async_write(c, asio::buffer(before), asio::use_awaitable);
        c.shutdown_send();
        std::string const after = "after";
        auto [ec, n] = co_await c.async_write_some(asio::buffer(after), as_tuple_awaitable);
        EXPECT_EQ(ec, smux::error::broken_pipe) << ec.message();
        EXPECT_EQ(n, 0U);
        // asio::async_write reports it the same way.
        auto [ec2, n2] = co_await asio::async_write(c, asio::buffer(after), as_tuple_awaitable);
        EXPECT_EQ(ec2, smux::error::broken_pipe) << ec2.message();
        EXPECT_EQ(n2, 0U);
        // A second shutdown_send is harmless; the peer sees the bytes before FIN only.
        c.shutdown_send();
        auto [rec, got] = co_await read_to_end(s);
        EXPECT_EQ(rec, asio::error::eof);
        EXPECT_EQ(to_string(got), before);
        // Reading on the half-closed side still works.
        std::string const reply = "reply";
        co_await asio::async_write(s, asio::buffer(reply), asio::use_awaitable);
        s.shutdown_send();
        auto [cec, cgot] = co_await read_to_end(c);
        EXPECT_EQ(cec, asio::error::eof);
        EXPECT_EQ(to_string(cgot), reply);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(half_close, both_sides_shut_down_before_reading_and_lose_nothing) {
    // Each side writes, sends FIN, and only reads once the other side's FIN has certainly
    // arrived: a second stream carries a "done" byte that is written after the FIN was queued,
    // so it arrives after it. Both still read all the data, then end of file.
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    bytes const from_client = random_bytes(200000, 31);  // within the v2 initial window
    bytes const from_server = random_bytes(150000, 32);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        auto c_ctl_s_ctl = co_await open_pair(p.client, p.server);
        smux::stream& c_ctl = c_ctl_s_ctl.first;
        smux::stream& s_ctl = c_ctl_s_ctl.second;
        auto side = [](smux::stream& data, smux::stream& ctl,
                       bytes const& out) -> asio::awaitable<std::pair<smux::error_code, bytes>> {
            co_await asio::async_write(data, asio::buffer(out), asio::use_awaitable);
            data.shutdown_send();
            char const done = 'd';
            co_await asio::async_write(ctl, asio::buffer(&done, 1), asio::use_awaitable);
            char peer_done = 0;
            co_await asio::async_read(ctl, asio::buffer(&peer_done, 1), asio::use_awaitable);
            EXPECT_EQ(peer_done, 'd');
            co_return co_await read_to_end(data);
        };
        auto [at_client, at_server] =
            co_await (side(c, c_ctl, from_client) && side(s, s_ctl, from_server));
        EXPECT_EQ(at_client.first, asio::error::eof) << at_client.first.message();
        EXPECT_EQ(first_difference(at_client.second, from_server), -1);
        EXPECT_EQ(at_server.first, asio::error::eof) << at_server.first.message();
        EXPECT_EQ(first_difference(at_server.second, from_client), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(half_close, fin_right_after_data_in_one_burst_loses_nothing) {
    // Data and FIN reach the reader before it starts reading (ordered by a second stream).
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    bytes const data = random_bytes(100000, 33);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        auto c2_s2 = co_await open_pair(p.client, p.server);
        smux::stream& c2 = c2_s2.first;
        smux::stream& s2 = c2_s2.second;
        co_await asio::async_write(c, asio::buffer(data), asio::use_awaitable);
        c.shutdown_send();
        c2.shutdown_send();
        auto [ec2, got2] = co_await read_to_end(s2);  // FIN of c2 came after all of c
        EXPECT_EQ(ec2, asio::error::eof);
        EXPECT_TRUE(got2.empty());
        EXPECT_EQ(p.server.stats().buffered_bytes, data.size());
        auto [ec, got] = co_await read_to_end(s, 4096);
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

INSTANTIATE_TEST_SUITE_P(versions, half_close, ::testing::Values(1, 2), version_name);

}  // namespace
