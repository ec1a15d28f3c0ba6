// Zero-copy receive (stream::receive, stream::async_receive, smux::received_buffers): the
// views hold the received bytes until released, they stay counted against the receive budget
// (and earn the peer no v2 credit) while held, they survive the stream and the session, they
// can be released from any thread, and a forwarder built on them moves 256 MiB with no copy of
// payload in its own code.

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <thread>
#include <vector>

#include "support/asio_harness.hpp"
#include "support/pattern_transfer.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

using receive_result = capture<smux::error_code, smux::received_buffers>;

std::string text_of(smux::received_buffers const& r) {
    std::string out;
    for (asio::const_buffer const& b : r.buffers()) {
        out.append(static_cast<char const*>(b.data()), b.size());
    }
    return out;
}

class stream_receive : public stream_pair_test<::testing::TestWithParam<int>> {};

TEST_P(stream_receive, lends_the_bytes_until_released_and_keeps_them_counted) {
    int const v = GetParam();
    ASSERT_TRUE(open(quiet_config(v)));
    receive_result r;
    s.async_receive(1024, r.handler());
    run_ready(ioc);
    EXPECT_FALSE(r.done) << "completed with nothing received";
    write_text(ioc, c, "hello, world");
    ASSERT_TRUE(run_until(ioc, r.ready()));
    ASSERT_FALSE(r.get<0>()) << r.get<0>().message();
    smux::received_buffers& lent = r.get<1>();
    EXPECT_EQ(lent.size(), 12U);
    EXPECT_EQ(text_of(lent), "hello, world");

    // Out of the stream, still in the session's budget; no credit went back to the peer.
    EXPECT_EQ(stats_now(ioc, s).buffered_bytes, 0U);
    EXPECT_EQ(server().stats().buffered_bytes, 12U);
    EXPECT_EQ(stats_now(ioc, s).frames_sent, 0U) << "a window update before the release";

    lent.release();
    EXPECT_TRUE(lent.empty());
    EXPECT_TRUE(lent.buffers().empty());
    ASSERT_TRUE(run_until(ioc, [&] { return server().stats().buffered_bytes == 0; }));
    if (v == 2) {  // Go's rule: the first read is announced at once
        ASSERT_TRUE(run_until(ioc, [&] { return stats_now(ioc, c).frames_received == 1; }));
    }
}

TEST_P(stream_receive, takes_at_most_max_bytes_and_leaves_the_rest) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    write_text(ioc, c, "abcdefgh");
    ASSERT_TRUE(run_until(ioc, [&] { return stats_now(ioc, s).buffered_bytes == 8; }));
    std::string first;
    std::string second;
    on_strand(ioc, s, [&] {
        smux::error_code ec;
        auto a = s.receive(3, ec);
        EXPECT_FALSE(ec) << ec.message();
        auto b = s.receive(100, ec);
        EXPECT_FALSE(ec) << ec.message();
        first = text_of(a);
        second = text_of(b);
        auto none = s.receive(100, ec);
        EXPECT_EQ(ec, asio::error::would_block);
        EXPECT_TRUE(none.empty());
    });
    EXPECT_EQ(first, "abc");
    EXPECT_EQ(second, "defgh");
    ASSERT_TRUE(run_until(ioc, [&] { return server().stats().buffered_bytes == 0; }))
        << "both handles were released when they went out of scope";
}

TEST_P(stream_receive, held_views_keep_the_peer_within_the_receive_budget) {
    smux::config cfg = quiet_config(GetParam());
    cfg.max_receive_buffer = 64 * 1024;
    cfg.max_stream_buffer = 64 * 1024;
    ASSERT_TRUE(open(cfg));
    std::size_t const total = 4 * one_mib;  // far more than the budget and the socket buffers
    bytes const data = random_bytes(total, 7);
    capture<smux::error_code, std::size_t> w;
    asio::async_write(c, asio::buffer(data), w.handler());

    // Hold everything received until the budget is spent: the bytes stay counted, and the
    // session stops taking more (at most one frame past the budget, by Go's rule).
    std::vector<smux::received_buffers> held;
    std::size_t held_bytes = 0;
    auto const budget = static_cast<std::size_t>(cfg.max_receive_buffer);
    auto const frame = static_cast<std::size_t>(cfg.max_frame_size);
    std::size_t const bound = budget + frame;
    while (held_bytes + frame < budget) {
        receive_result r;
        s.async_receive(total, r.handler());
        ASSERT_TRUE(run_until(ioc, r.ready()));
        ASSERT_FALSE(r.get<0>()) << r.get<0>().message();
        held_bytes += r.get<1>().size();
        held.push_back(std::move(r.get<1>()));
        EXPECT_GE(server().stats().buffered_bytes, held_bytes) << "held bytes left the budget";
        EXPECT_LE(server().stats().buffered_bytes, bound);
    }
    EXPECT_FALSE(w.done) << "4 MiB went through a 64 KiB budget that was never released";

    // Released, and read to the end with more views: every byte arrives, in order.
    bytes got;
    for (auto& h : held) {
        for (asio::const_buffer const& b : h.buffers()) {
            auto const* p = static_cast<std::byte const*>(b.data());
            got.insert(got.end(), p, p + b.size());
        }
    }
    held.clear();
    while (got.size() < total) {
        receive_result r;
        s.async_receive(total, r.handler());
        ASSERT_TRUE(run_until(ioc, r.ready()));
        ASSERT_FALSE(r.get<0>()) << r.get<0>().message();
        EXPECT_LE(server().stats().buffered_bytes, bound);
        for (asio::const_buffer const& b : r.get<1>().buffers()) {
            auto const* p = static_cast<std::byte const*>(b.data());
            got.insert(got.end(), p, p + b.size());
        }
    }
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << w.get<0>().message();
    EXPECT_EQ(first_difference(got, data), -1);
}

TEST_P(stream_receive, views_outlive_the_stream_and_the_session) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    std::string const text(10'000, 'z');  // large enough to be a view of the receive block
    write_text(ioc, c, text);
    ASSERT_TRUE(run_until(ioc, [&] { return stats_now(ioc, s).buffered_bytes == text.size(); }));
    smux::received_buffers lent;
    on_strand(ioc, s, [&] {
        smux::error_code ec;
        lent = s.receive(text.size(), ec);
        EXPECT_FALSE(ec) << ec.message();
    });
    s.close();
    c.close();
    client().close();
    server().close();
    run_ready(ioc);
    sessions_.reset();
    EXPECT_EQ(text_of(lent), text) << "the bytes are the caller's until released";
    lent.release();
    run_ready(ioc);
}

TEST_P(stream_receive, release_from_another_thread_goes_through_the_strand) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    write_text(ioc, c, "cross-thread");
    receive_result r;
    s.async_receive(64, r.handler());
    ASSERT_TRUE(run_until(ioc, r.ready()));
    ASSERT_FALSE(r.get<0>());
    std::thread other([lent = std::move(r.get<1>())]() mutable {
        EXPECT_EQ(text_of(lent), "cross-thread");
        lent.release();
    });
    other.join();
    ASSERT_TRUE(run_until(ioc, [&] { return server().stats().buffered_bytes == 0; }));
}

TEST_P(stream_receive, errors_are_those_of_a_read) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    smux::error_code ec;
    (void)s.receive(10, ec);
    EXPECT_EQ(ec, smux::error::not_on_strand);

    receive_result nothing;
    s.async_receive(0, nothing.handler());
    EXPECT_FALSE(nothing.done) << "completed inside the initiating function";
    ASSERT_TRUE(run_until(ioc, nothing.ready()));
    EXPECT_FALSE(nothing.get<0>());
    EXPECT_TRUE(nothing.get<1>().empty());

    capture<smux::error_code, std::size_t> read;
    bytes buf(8);
    s.async_read_some(asio::buffer(buf), read.handler());
    receive_result busy;
    s.async_receive(10, busy.handler());
    ASSERT_TRUE(run_until(ioc, busy.ready()));
    EXPECT_EQ(busy.get<0>(), smux::error::operation_in_progress);
    s.cancel();
    ASSERT_TRUE(run_until(ioc, read.ready()));

    asio::cancellation_signal signal;
    receive_result cancelled;
    s.async_receive(10, asio::bind_cancellation_slot(signal.slot(), cancelled.handler()));
    run_ready(ioc);
    signal.emit(asio::cancellation_type::partial);
    ASSERT_TRUE(run_until(ioc, cancelled.ready()));
    EXPECT_EQ(cancelled.get<0>(), asio::error::operation_aborted);

    c.shutdown_send();
    receive_result eof;
    s.async_receive(10, eof.handler());
    ASSERT_TRUE(run_until(ioc, eof.ready()));
    EXPECT_EQ(eof.get<0>(), asio::error::eof);

    s.close();
    receive_result closed;
    s.async_receive(10, closed.handler());
    ASSERT_TRUE(run_until(ioc, closed.ready()));
    EXPECT_EQ(closed.get<0>(), smux::error::stream_closed);
}

/// Forwards `in` to `out` with lent views only: no buffer, no copy of payload here.
asio::awaitable<std::uint64_t> forward(smux::stream& in, smux::stream& out) {
    std::uint64_t moved = 0;
    for (;;) {
        auto [ec, lent] = co_await in.async_receive(1U << 20U, as_tuple_awaitable);
        if (ec == asio::error::eof) {
            out.shutdown_send();
            co_return moved;
        }
        if (ec) {
            throw std::system_error(ec, "forward receive");
        }
        co_await asio::async_write(out, lent.buffers(), asio::use_awaitable);
        moved += lent.size();
    }  // each handle is released as the next turn of the loop replaces it
}

TEST_P(stream_receive, a_forwarder_moves_256_mib_without_copying_payload) {
    ASSERT_TRUE(open(make_config(GetParam())));
    std::uint64_t const total = sanitized_build ? 32 * one_mib : 256 * one_mib;
    task_group tasks;
    tasks.spawn(server().get_executor(), [&]() -> asio::awaitable<void> {
        // The way back is a second stream the server opens.
        smux::stream back = co_await server().async_open_stream(asio::use_awaitable);
        std::uint64_t const moved = co_await forward(s, back);
        EXPECT_EQ(moved, total);
    });
    tasks.spawn(client().get_executor(), [&]() -> asio::awaitable<void> {
        smux::stream back = co_await client().async_accept_stream(asio::use_awaitable);
        auto [sent, got] =
            co_await (send_pattern(c, pattern(99), total) && receive_pattern(back, pattern(99)));
        expect_received(got, total, sent);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

INSTANTIATE_TEST_SUITE_P(versions, stream_receive, ::testing::Values(1, 2), version_name);

}  // namespace
