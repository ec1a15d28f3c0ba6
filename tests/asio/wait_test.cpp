// Waiting for readability without a buffer (stream::async_wait(wait_read)) and the
// non-blocking read of what is buffered (stream::read_some(buffers, ec), available): the wait
// completes on data, on the peer's FIN and on the session's end, takes nothing, is cancellable
// and counts as the stream's one read; the synchronous calls work only on the session's strand.

#include <gtest/gtest.h>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;

using wait_result = capture<smux::error_code>;
using io_result = capture<smux::error_code, std::size_t>;
constexpr auto wait_read = smux::stream::wait_read;

/// The non-blocking read on the strand: the error and the bytes it took.
std::pair<smux::error_code, std::string> read_now(asio::io_context& ioc, smux::stream& st,
                                                  std::size_t size = 64) {
    std::pair<smux::error_code, std::string> out;
    on_strand(ioc, st, [&] {
        std::string buf(size, '\0');
        std::size_t const n = st.read_some(asio::buffer(buf), out.first);
        out.second = buf.substr(0, n);
    });
    return out;
}

std::size_t available_now(asio::io_context& ioc, smux::stream& st) {
    std::size_t n = 0;
    on_strand(ioc, st, [&] {
        smux::error_code ec;
        n = st.available(ec);
        EXPECT_FALSE(ec) << ec.message();
    });
    return n;
}

class stream_wait : public stream_pair_test<::testing::TestWithParam<int>> {};

TEST_P(stream_wait, completes_on_data_and_takes_nothing) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    wait_result w;
    s.async_wait(wait_read, w.handler());
    run_ready(ioc);
    EXPECT_FALSE(w.done) << "the wait completed with nothing to read";
    EXPECT_EQ(available_now(ioc, s), 0U);
    EXPECT_EQ(read_now(ioc, s).first, smux::error::operation_in_progress)
        << "a pending wait is the stream's one read";

    write_text(ioc, c, "hello");
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << w.get<0>().message();
    EXPECT_EQ(w.calls, 1);

    // Nothing was taken: the bytes are all there, in pieces as small as the caller likes.
    EXPECT_EQ(available_now(ioc, s), 5U);
    auto const first = read_now(ioc, s, 3);
    EXPECT_FALSE(first.first) << first.first.message();
    EXPECT_EQ(first.second, "hel");
    auto const rest = read_now(ioc, s);
    EXPECT_FALSE(rest.first) << rest.first.message();
    EXPECT_EQ(rest.second, "lo");
    auto const empty = read_now(ioc, s);
    EXPECT_EQ(empty.first, asio::error::would_block) << empty.first.message();
    EXPECT_EQ(empty.second, "");

    // Waiting again parks until the next bytes.
    wait_result again;
    s.async_wait(wait_read, again.handler());
    run_ready(ioc);
    EXPECT_FALSE(again.done);
    write_text(ioc, c, "x");
    ASSERT_TRUE(run_until(ioc, again.ready()));
    EXPECT_FALSE(again.get<0>()) << again.get<0>().message();
    EXPECT_EQ(read_now(ioc, s).second, "x");
}

TEST_P(stream_wait, completes_at_once_when_bytes_are_already_buffered) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    write_text(ioc, c, "ready");
    ASSERT_TRUE(run_until(ioc, [&] { return available_now(ioc, s) == 5; }));

    wait_result w;
    s.async_wait(wait_read, w.handler());
    EXPECT_FALSE(w.done) << "completed inside the initiating function";
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << w.get<0>().message();
    EXPECT_EQ(read_now(ioc, s).second, "ready");
}

TEST_P(stream_wait, completes_on_the_peers_fin_and_the_read_then_gives_eof) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    wait_result w;
    s.async_wait(wait_read, w.handler());
    run_ready(ioc);
    ASSERT_FALSE(w.done);
    c.shutdown_send();
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << "a wait succeeds when a read would not wait, FIN included: "
                             << w.get<0>().message();
    EXPECT_EQ(read_now(ioc, s).first, asio::error::eof);

    // Once at end of file, a wait completes at once.
    wait_result after;
    s.async_wait(wait_read, after.handler());
    ASSERT_TRUE(run_until(ioc, after.ready()));
    EXPECT_FALSE(after.get<0>()) << after.get<0>().message();
}

TEST_P(stream_wait, completes_when_the_session_ends_and_the_read_gives_its_error) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    wait_result w;
    s.async_wait(wait_read, w.handler());
    run_ready(ioc);
    ASSERT_FALSE(w.done);
    client().close();  // the server's session ends: the peer closed the connection
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>()) << w.get<0>().message();
    auto const r = read_now(ioc, s);
    EXPECT_EQ(r.first, smux::condition::session_terminated) << r.first.message();
    EXPECT_EQ(r.second, "");
}

TEST_P(stream_wait, cancelled_through_its_slot_or_by_cancel_and_nothing_is_lost) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                      asio::cancellation_type::total}) {
        asio::cancellation_signal signal;
        wait_result w;
        s.async_wait(wait_read, asio::bind_cancellation_slot(signal.slot(), w.handler()));
        run_ready(ioc);
        ASSERT_FALSE(w.done);
        signal.emit(type);
        ASSERT_TRUE(run_until(ioc, w.ready()));
        EXPECT_EQ(w.get<0>(), asio::error::operation_aborted) << w.get<0>().message();
    }
    wait_result w;
    s.async_wait(wait_read, w.handler());
    run_ready(ioc);
    s.cancel();
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_EQ(w.get<0>(), asio::error::operation_aborted) << w.get<0>().message();

    // The stream goes on: the next bytes wake the next wait and are read whole.
    write_text(ioc, c, "after");
    wait_result next;
    s.async_wait(wait_read, next.handler());
    ASSERT_TRUE(run_until(ioc, next.ready()));
    EXPECT_FALSE(next.get<0>()) << next.get<0>().message();
    EXPECT_EQ(read_now(ioc, s).second, "after");
}

TEST_P(stream_wait, a_wait_and_a_read_exclude_each_other) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    wait_result w;
    s.async_wait(wait_read, w.handler());
    std::array<char, 8> buf{};
    io_result r;
    s.async_read_some(asio::buffer(buf), r.handler());
    ASSERT_TRUE(run_until(ioc, r.ready()));
    EXPECT_EQ(r.get<0>(), smux::error::operation_in_progress) << r.get<0>().message();
    EXPECT_FALSE(w.done);

    s.cancel();
    ASSERT_TRUE(run_until(ioc, w.ready()));
    io_result pending;
    s.async_read_some(asio::buffer(buf), pending.handler());
    wait_result second;
    s.async_wait(wait_read, second.handler());
    ASSERT_TRUE(run_until(ioc, second.ready()));
    EXPECT_EQ(second.get<0>(), smux::error::operation_in_progress) << second.get<0>().message();
    EXPECT_FALSE(pending.done);
    ASSERT_TRUE(close_and_drain(ioc, *sessions_));
}

TEST_P(stream_wait, the_read_timeout_applies_to_a_wait) {
    smux::config cfg = quiet_config(GetParam());
    cfg.stream_read_timeout = 200ms;
    ASSERT_TRUE(open(cfg));
    wait_result w;
    s.async_wait(wait_read, w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));  // allowed-sleep: the timeout is what is tested
    EXPECT_EQ(w.get<0>(), smux::error::read_timeout) << w.get<0>().message();
    EXPECT_TRUE(server().is_open());
}

TEST_P(stream_wait, unsupported_waits_closed_handles_and_calls_off_the_strand_fail_clearly) {
    ASSERT_TRUE(open(quiet_config(GetParam())));

    for (auto type : {smux::stream::wait_write, smux::stream::wait_error}) {
        wait_result w;
        s.async_wait(type, w.handler());
        ASSERT_TRUE(run_until(ioc, w.ready()));
        EXPECT_EQ(w.get<0>(), asio::error::operation_not_supported) << w.get<0>().message();
    }

    // This thread is not in the strand while the loop is not running.
    write_text(ioc, c, "kept");
    std::array<char, 8> buf{};
    smux::error_code ec;
    EXPECT_EQ(s.read_some(asio::buffer(buf), ec), 0U);
    EXPECT_EQ(ec, smux::error::not_on_strand) << ec.message();
    EXPECT_NE(ec.message().find("get_executor"), std::string::npos) << ec.message();
    EXPECT_EQ(s.available(ec), 0U);
    EXPECT_EQ(ec, smux::error::not_on_strand);
    ASSERT_TRUE(run_until(ioc, [&] { return available_now(ioc, s) == 4; }));
    EXPECT_EQ(read_now(ioc, s).second, "kept");

    smux::stream empty;
    wait_result on_empty;
    // An empty handle has no session: its completion goes to the handler's own executor.
    empty.async_wait(wait_read, asio::bind_executor(ioc, on_empty.handler()));
    s.close();
    wait_result on_closed;
    s.async_wait(wait_read, on_closed.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return on_empty.done && on_closed.done; }));
    EXPECT_EQ(on_empty.get<0>(), smux::error::stream_closed);
    EXPECT_EQ(on_closed.get<0>(), smux::error::stream_closed);
    EXPECT_EQ(s.read_some(asio::buffer(buf), ec), 0U);
    EXPECT_EQ(ec, smux::error::stream_closed);
}

TEST_P(stream_wait, coroutine_on_the_strand_echoes_with_a_buffer_borrowed_per_message) {
    ASSERT_TRUE(open(make_config(GetParam())));
    bytes const data = random_bytes(1 << 20, 7);
    bytes echoed;
    task_group tasks;
    tasks.spawn(s.get_executor(), [&]() -> asio::awaitable<void> {
        for (;;) {
            co_await s.async_wait(wait_read, asio::use_awaitable);
            smux::error_code ec;
            // Borrowed only while this message is handled; at least one byte, so that after
            // the FIN the read reports end of file (an empty read takes nothing and succeeds).
            bytes borrowed(std::max<std::size_t>(s.available(ec), 1));
            if (ec) {
                throw std::system_error(ec, "available");
            }
            std::size_t const n = s.read_some(asio::buffer(borrowed), ec);
            if (ec == asio::error::eof) {
                break;
            }
            if (ec) {
                throw std::system_error(ec, "read_some");
            }
            EXPECT_EQ(n, borrowed.size());
            co_await asio::async_write(s, asio::buffer(borrowed.data(), n), asio::use_awaitable);
        }
        s.shutdown_send();
    });
    // Written while the echo is read below: an echo peer blocks once the windows are full.
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        co_await asio::async_write(c, asio::buffer(data), asio::use_awaitable);
        c.shutdown_send();
    });
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto [ec, got] = co_await read_to_end(c);
        EXPECT_EQ(ec, asio::error::eof) << ec.message();
        echoed = std::move(got);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(first_difference(echoed, data), -1);
}

TEST_P(stream_wait, a_hundred_thousand_idle_streams_each_with_a_pending_wait) {
    constexpr std::size_t stream_count = 100'000;
    smux::config cfg = quiet_config(GetParam());
    cfg.max_streams = stream_count + 1;
    auto p = make_local_pair(ioc, cfg);

    std::vector<smux::stream> opened;
    std::vector<smux::stream> accepted;
    opened.reserve(stream_count);
    accepted.reserve(stream_count);
    std::vector<smux::error_code> wait_errors(stream_count);
    std::size_t waits_done = 0;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < stream_count; ++i) {
            opened.push_back(co_await p.client.async_open_stream(asio::use_awaitable));
        }
    });
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < stream_count; ++i) {
            accepted.push_back(co_await p.server.async_accept_stream(asio::use_awaitable));
            accepted.back().async_wait(wait_read, [&, i](smux::error_code ec) {
                wait_errors[i] = ec;
                ++waits_done;
            });
        }
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    run_ready(ioc);
    EXPECT_EQ(waits_done, 0U) << "waits completed on idle streams";

    // Every thousandth stream gets a byte: exactly those waits complete, the rest stay idle.
    std::size_t const woken = stream_count / 1000;
    for (std::size_t i = 0; i < stream_count; i += 1000) {
        opened[i].async_write_some(asio::buffer("!", 1), [](smux::error_code, std::size_t) {});
    }
    ASSERT_TRUE(run_until(
        ioc, [&] { return waits_done == woken; }, heavy_watchdog_limit));
    run_ready(ioc);
    EXPECT_EQ(waits_done, woken);
    for (std::size_t i = 0; i < stream_count; i += 1000) {
        EXPECT_FALSE(wait_errors[i]) << i << ": " << wait_errors[i].message();
        ASSERT_EQ(accepted[i].id(), opened[i].id());
        EXPECT_EQ(read_now(ioc, accepted[i]).second, "!");
    }
    ASSERT_TRUE(close_and_drain(ioc, p));
    EXPECT_EQ(waits_done, stream_count) << "the session's end completes every pending wait";
}

INSTANTIATE_TEST_SUITE_P(versions, stream_wait, ::testing::Values(1, 2), version_name);

}  // namespace
