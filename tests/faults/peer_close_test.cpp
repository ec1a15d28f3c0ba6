// A protocol version 2 writer that waits for window on a stream the peer abandoned.
//
// smux has no reset frame: a FIN means "no more data from me", and this library keeps
// honouring window updates after it (lossless half-close), so a writer whose window is spent
// cannot tell a peer that half-closed and still reads from a peer that closed for good. (Go's
// smux returns io.EOF from such a write as soon as the FIN arrives.) What must hold: the
// ways out that the API documents all release the waiting write, with the right error and
// the exact count that was sent, and the session goes on; and a half-closed peer that
// still reads lets the write finish.

#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using smux::error_code;

/// Bytes a v2 writer may send before the first window update (a protocol constant).
constexpr std::size_t initial_window = smux::core::initial_peer_window;

enum class way_out {
    slot_total,     ///< per-operation cancellation, total (allowed while waiting for window)
    slot_terminal,  ///< per-operation cancellation, terminal
    stream_cancel,  ///< stream::cancel
    stream_close,   ///< stream::close
    write_timeout,  ///< config stream_write_timeout
    session_close,  ///< basic_session::close
};

std::string way_name(::testing::TestParamInfo<way_out> const& info) {
    static char const* const names[] = {"slot_total",   "slot_terminal", "stream_cancel",
                                        "stream_close", "write_timeout", "session_close"};
    return names[static_cast<int>(info.param)];
}

/// Runs until nothing is ready any more (the duplex stream has no timers: the loop is idle).
void settle(asio::io_context& ioc) {
    if (ioc.stopped()) {
        ioc.restart();
    }
    while (ioc.poll() > 0) {
    }
}

class abandoned_stream : public ::testing::TestWithParam<way_out> {};

TEST_P(abandoned_stream, waiting_write_is_released) {
    way_out const way = GetParam();
    asio::io_context ioc;
    smux::config cfg = quiet_config(2);
    if (way == way_out::write_timeout) {
        cfg.stream_write_timeout = std::chrono::milliseconds(50);
    }
    auto p = make_duplex_pair(ioc, cfg);
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    // The peer closes without reading: no window update will ever come.
    pair->second.close();

    // The window is spent by the first write, which completes; the second one waits (a
    // single write_some: asio::async_write does not pass on total cancellation).
    bytes const data = random_bytes(initial_window + 100'000, 7);
    capture<error_code, std::size_t> first;
    asio::async_write(c, asio::buffer(data.data(), initial_window), first.handler());
    ASSERT_TRUE(run_until(ioc, first.ready()));
    ASSERT_FALSE(first.get<0>()) << first.get<0>().message();
    asio::cancellation_signal signal;
    capture<error_code, std::size_t> w;
    c.async_write_some(asio::buffer(data.data() + initial_window, data.size() - initial_window),
                       asio::bind_cancellation_slot(signal.slot(), w.handler()));
    settle(ioc);
    if (w.done) {
        // Released by the peer's FIN alone (Go's behaviour): an error, never success.
        EXPECT_TRUE(w.get<0>()) << "the write succeeded on an abandoned stream";
        EXPECT_EQ(w.get<1>(), 0U);
        EXPECT_TRUE(close_and_drain(ioc, p));
        return;
    }
    EXPECT_EQ(p.client.stats().streams_open, 1U);

    error_code expected = asio::error::operation_aborted;
    switch (way) {
        case way_out::slot_total:
            signal.emit(asio::cancellation_type::total);
            break;
        case way_out::slot_terminal:
            signal.emit(asio::cancellation_type::terminal);
            break;
        case way_out::stream_cancel:
            c.cancel();
            break;
        case way_out::stream_close:
            c.close();
            break;
        case way_out::write_timeout:
            expected = smux::error::write_timeout;
            break;
        case way_out::session_close:
            p.client.close();
            expected = smux::error::session_closed;
            break;
    }
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_EQ(w.calls, 1);
    EXPECT_EQ(w.get<0>(), expected) << w.get<0>().message();
    EXPECT_EQ(w.get<1>(), 0U) << "nothing of this write could be sent";

    if (way != way_out::session_close) {
        // The session goes on: a new stream carries data both ways.
        c.close();
        auto next = open_pair_now(ioc, p.client, p.server);
        ASSERT_TRUE(next);
        task_group tasks;
        tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
            bytes const msg = random_bytes(5000, 9);
            co_await asio::async_write(next->first, asio::buffer(msg), asio::use_awaitable);
            next->first.shutdown_send();
            auto [ec, got] = co_await read_to_end(next->second);
            EXPECT_EQ(ec, asio::error::eof);
            EXPECT_EQ(got, msg);
        });
        ASSERT_TRUE(tasks.wait(ioc));
        next->first.close();
        next->second.close();
    }
    c.close();
    pair->second.close();
    settle(ioc);
    EXPECT_EQ(p.client.stats().streams_open, 0U);
    EXPECT_EQ(p.server.stats().streams_open, 0U);
    EXPECT_TRUE(close_and_drain(ioc, p));
}

INSTANTIATE_TEST_SUITE_P(faults, abandoned_stream,
                         ::testing::Values(way_out::slot_total, way_out::slot_terminal,
                                           way_out::stream_cancel, way_out::stream_close,
                                           way_out::write_timeout, way_out::session_close),
                         way_name);

TEST(half_closed_peer, that_still_reads_lets_a_waiting_write_finish) {
    asio::io_context ioc;
    auto p = make_duplex_pair(ioc, quiet_config(2));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    s.shutdown_send();  // FIN first, reading later

    bytes const data = random_bytes(3 * initial_window, 11);
    capture<error_code, std::size_t> w;
    asio::async_write(c, asio::buffer(data), w.handler());
    settle(ioc);
    ASSERT_FALSE(w.done) << "the write could not have finished without window updates";

    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto [ec, got] = co_await read_exactly(s, data.size());
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << w.get<0>().message();
    EXPECT_EQ(w.get<1>(), data.size());
    c.close();
    s.close();
    EXPECT_TRUE(close_and_drain(ioc, p));
}

}  // namespace
