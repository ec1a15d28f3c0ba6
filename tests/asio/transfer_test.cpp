// Bulk and tiny transfers: 64 MiB one way and both ways at once, 1-byte writes and reads, a
// transport that moves one byte per operation, extreme frame sizes and flow-control settings.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <cstring>

#include "support/asio_harness.hpp"
#include "support/pattern_transfer.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

class transfer : public ::testing::TestWithParam<int> {};

TEST_P(transfer, sixty_four_mib_one_direction) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    constexpr std::uint64_t total = 64 * one_mib;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto [sent, got] =
            co_await (send_pattern(a, pattern(64), total) && receive_pattern(b, pattern(64)));
        expect_received(got, total, sent);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_GE(p.client.stats().bytes_sent, total);
    EXPECT_GE(p.server.stats().bytes_received, total);
}

TEST_P(transfer, sixty_four_mib_both_directions_at_once) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    constexpr std::uint64_t total = 64 * one_mib;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto [sent_ab, got_ab, sent_ba, got_ba] =
            co_await (send_pattern(a, pattern(101), total) && receive_pattern(b, pattern(101)) &&
                      send_pattern(b, pattern(202), total) && receive_pattern(a, pattern(202)));
        expect_received(got_ab, total, sent_ab);
        expect_received(got_ba, total, sent_ba);
        EXPECT_NE(sent_ab, sent_ba);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

TEST_P(transfer, many_one_byte_writes) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    constexpr std::size_t count = 20000;
    bytes const data = random_bytes(count, 1);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto writer = [&]() -> asio::awaitable<void> {
            for (std::size_t i = 0; i < count; ++i) {
                std::size_t const n =
                    co_await a.async_write_some(asio::buffer(&data[i], 1), asio::use_awaitable);
                if (n != 1) {
                    ADD_FAILURE() << "write " << i << " wrote " << n;
                    break;
                }
            }
            a.shutdown_send();
        };
        auto [ec, got] = co_await (writer() && read_to_end(b));
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

TEST_P(transfer, one_byte_reads) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    bytes const data = random_bytes(300000, 2);  // beyond the v2 initial window
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto writer = [&]() -> asio::awaitable<void> {
            co_await asio::async_write(a, asio::buffer(data), asio::use_awaitable);
            a.shutdown_send();
        };
        auto [ec, got] = co_await (writer() && read_to_end(b, 1));
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

/// Several streams echo through a duplex transport cut into tiny reads and writes.
void tiny_transport_echo(int version, std::size_t read_size, std::size_t write_size) {
    asio::io_context ioc;
    auto p = make_duplex_pair(ioc, make_config(version), read_size, write_size);
    constexpr int streams = 4;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < streams; ++i) {
            smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
            tasks.spawn(ioc, [s = std::move(s)]() mutable -> asio::awaitable<void> {
                co_await echo_until_eof(s);
            });
        }
    });
    for (int i = 0; i < streams; ++i) {
        tasks.spawn(ioc, [&, i]() -> asio::awaitable<void> {
            smux::stream s = co_await p.client.async_open_stream(asio::use_awaitable);
            bytes const data = random_bytes(5000 + 3000 * static_cast<std::size_t>(i),
                                            50 + static_cast<std::uint64_t>(i));
            auto writer = [&]() -> asio::awaitable<void> {
                // Mixed write sizes, including single bytes.
                std::size_t pos = 0;
                std::size_t step = 1;
                while (pos < data.size()) {
                    std::size_t const n = std::min(step, data.size() - pos);
                    co_await asio::async_write(s, asio::buffer(&data[pos], n), asio::use_awaitable);
                    pos += n;
                    step = step * 3 % 4099 + 1;
                }
                s.shutdown_send();
            };
            auto [ec, got] = co_await (writer() && read_to_end(s, 777));
            EXPECT_EQ(ec, asio::error::eof);
            EXPECT_EQ(first_difference(got, data), -1) << "stream " << s.id();
        });
    }
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_TRUE(p.client.is_open());
    EXPECT_TRUE(p.server.is_open());
    EXPECT_TRUE(close_and_drain(ioc, p));
}

TEST_P(transfer, transport_delivering_one_byte_per_read) {
    tiny_transport_echo(GetParam(), 1, 0);
}

TEST_P(transfer, transport_accepting_three_bytes_per_write) {
    tiny_transport_echo(GetParam(), 0, 3);
}

TEST_P(transfer, transport_moving_one_byte_per_operation_both_ways) {
    tiny_transport_echo(GetParam(), 1, 1);
}

TEST_P(transfer, maximum_and_minimum_frame_sizes) {
    // The client cuts its data into 65535-byte frames, the server into 7-byte frames; each side
    // must accept any length from the other.
    smux::config client_cfg = make_config(GetParam());
    client_cfg.max_frame_size = 65535;
    smux::config server_cfg = make_config(GetParam());
    server_cfg.max_frame_size = 7;
    asio::io_context ioc;
    auto p = make_local_pair(ioc, client_cfg, server_cfg);
    bytes const big = random_bytes(1048576 + 17, 3);
    bytes const small = random_bytes(20000, 4);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto write_all = [](smux::stream& s, bytes const& d) -> asio::awaitable<void> {
            co_await asio::async_write(s, asio::buffer(d), asio::use_awaitable);
            s.shutdown_send();
        };
        auto [at_b, at_a] =
            co_await (write_all(a, big) && read_to_end(b) && write_all(b, small) && read_to_end(a));
        auto const& [ec_b, got_b] = at_b;
        auto const& [ec_a, got_a] = at_a;
        EXPECT_EQ(ec_b, asio::error::eof);
        EXPECT_EQ(first_difference(got_b, big), -1);
        EXPECT_EQ(ec_a, asio::error::eof);
        EXPECT_EQ(first_difference(got_a, small), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    // 20000 bytes in 7-byte frames: at least 2858 PSH frames from the server.
    EXPECT_GE(p.server.stats().frames_sent, 20000U / 7);
    EXPECT_GE(p.client.stats().frames_received, 20000U / 7);
}

TEST_P(transfer, small_receive_budget_and_window_keep_data_flowing) {
    // The receiver buffers at most 4 KiB (and advertises a 1 KiB window in version 2) and reads
    // slowly in small pieces; the sender pushes 1 MiB through.
    smux::config server_cfg = make_config(GetParam());
    server_cfg.max_receive_buffer = 4096;
    server_cfg.max_stream_buffer = 1024;
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()), server_cfg);
    constexpr std::uint64_t total = one_mib;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        auto [sent, got] =
            co_await (send_pattern(a, pattern(5), total) && receive_pattern(b, pattern(5), 100));
        expect_received(got, total, sent);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

TEST(transfer_v2, an_unread_stream_does_not_stall_other_streams) {
    // Version 2 bounds each stream by its window: a stream whose reader never reads holds at
    // most 256 KiB, and another stream moves 8 MiB meanwhile.
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(2));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto stuck_a_stuck_b = co_await open_pair(p.client, p.server);
        smux::stream& stuck_a = stuck_a_stuck_b.first;
        smux::stream& stuck_b = stuck_a_stuck_b.second;
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        bytes const filler = random_bytes(v2_initial_window, 6);
        std::size_t const n =
            co_await stuck_a.async_write_some(asio::buffer(filler), asio::use_awaitable);
        EXPECT_EQ(n, v2_initial_window);
        auto [sent, got] =
            co_await (send_pattern(a, pattern(7), 8 * one_mib) && receive_pattern(b, pattern(7)));
        expect_received(got, 8 * one_mib, sent);
        // The unread stream still holds its bytes, in order.
        stuck_a.shutdown_send();
        auto [ec, held] = co_await read_to_end(stuck_b);
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(held, filler), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

TEST(transfer_v2, window_of_the_peer_limits_a_single_write) {
    // Before any window update, one write_some accepts at most v2_initial_window bytes (the
    // protocol's initial window), and completes once they went out.
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(2));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto a_b = co_await open_pair(p.client, p.server);
        smux::stream& a = a_b.first;
        smux::stream& b = a_b.second;
        bytes const data = random_bytes(400000, 8);
        std::size_t const n = co_await a.async_write_some(asio::buffer(data), asio::use_awaitable);
        EXPECT_EQ(n, v2_initial_window);
        auto [ec, got] = co_await read_exactly(b, n);
        EXPECT_FALSE(ec);
        EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

INSTANTIATE_TEST_SUITE_P(versions, transfer, ::testing::Values(1, 2), version_name);

}  // namespace
