// Per-operation cancellation: reads, accepts, waits and window-blocked writes cancelled through
// a cancellation slot, through awaitable operators and through stream::cancel; a cancelled
// operation completes with operation_aborted and loses nothing.

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <tuple>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

using cancel_param = std::tuple<int, asio::cancellation_type>;

std::string cancel_name(::testing::TestParamInfo<cancel_param> const& info) {
    auto const type = std::get<1>(info.param);
    std::string const t = type == asio::cancellation_type::terminal  ? "terminal"
                          : type == asio::cancellation_type::partial ? "partial"
                                                                     : "total";
    return "v" + std::to_string(std::get<0>(info.param)) + "_" + t;
}

class cancel_by_type : public stream_pair_test<::testing::TestWithParam<cancel_param>> {
  protected:
    int version() const { return std::get<0>(GetParam()); }
    asio::cancellation_type type() const { return std::get<1>(GetParam()); }
};

/// Writes `text` on `s` and runs the loop until the write completed.
void write_now(asio::io_context& ioc, smux::stream& s, std::string const& text) {
    capture<smux::error_code, std::size_t> w;
    s.async_write_some(asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    ASSERT_FALSE(w.get<0>()) << w.get<0>().message();
    ASSERT_EQ(w.get<1>(), text.size());
}

/// Reads once on `s` and returns the text (empty on error, which is reported).
std::string read_once(asio::io_context& ioc, smux::stream& s) {
    std::array<char, 256> buf{};
    capture<smux::error_code, std::size_t> r;
    s.async_read_some(asio::buffer(buf), r.handler());
    EXPECT_TRUE(run_until(ioc, r.ready()));
    EXPECT_FALSE(r.get<0>()) << r.get<0>().message();
    return std::string(buf.data(), r.get<1>());
}

TEST_P(cancel_by_type, pending_read_cancelled_through_slot_loses_no_data) {
    ASSERT_TRUE(open(make_config(version())));

    asio::cancellation_signal signal;
    std::array<char, 64> buf{};
    capture<smux::error_code, std::size_t> r;
    s.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(signal.slot(), r.handler()));
    run_ready(ioc);
    ASSERT_FALSE(r.done) << "the read completed with no data";
    signal.emit(type());
    ASSERT_TRUE(run_until(ioc, r.ready()));
    EXPECT_EQ(r.get<0>(), asio::error::operation_aborted) << r.get<0>().message();
    EXPECT_EQ(r.get<1>(), 0U);
    EXPECT_EQ(r.calls, 1);

    write_now(ioc, c, "after cancel");
    EXPECT_EQ(read_once(ioc, s), "after cancel");
    // A late emit on the same slot (already cleared) changes nothing.
    signal.emit(type());
    write_now(ioc, c, "still fine");
    EXPECT_EQ(read_once(ioc, s), "still fine");
    EXPECT_EQ(r.calls, 1);
}

TEST_P(cancel_by_type, pending_accept_cancelled_through_slot_loses_no_stream) {
    auto p = make_local_pair(ioc, make_config(version()));
    asio::cancellation_signal signal;
    capture<smux::error_code, smux::stream> a;
    p.server.async_accept_stream(asio::bind_cancellation_slot(signal.slot(), a.handler()));
    run_ready(ioc);
    ASSERT_FALSE(a.done);
    signal.emit(type());
    ASSERT_TRUE(run_until(ioc, a.ready()));
    EXPECT_EQ(a.get<0>(), asio::error::operation_aborted) << a.get<0>().message();
    EXPECT_FALSE(a.get<1>().is_open());

    // The next stream the client opens goes to the next accept.
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    EXPECT_EQ(pair->second.id(), 3U);
    write_now(ioc, pair->first, "x");
    EXPECT_EQ(read_once(ioc, pair->second), "x");
}

TEST_P(cancel_by_type, wait_closed_cancelled_through_slot) {
    auto p = make_local_pair(ioc, make_config(version()));
    asio::cancellation_signal signal;
    capture<smux::error_code> w;
    p.client.async_wait_closed(asio::bind_cancellation_slot(signal.slot(), w.handler()));
    run_ready(ioc);
    ASSERT_FALSE(w.done);
    signal.emit(type());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_EQ(w.get<0>(), asio::error::operation_aborted) << w.get<0>().message();
    EXPECT_TRUE(p.client.is_open());
    // A new wait still reports the real end.
    capture<smux::error_code> w2;
    p.client.async_wait_closed(w2.handler());
    p.client.close();
    ASSERT_TRUE(run_until(ioc, w2.ready()));
    EXPECT_EQ(w2.get<0>(), smux::error::session_closed) << w2.get<0>().message();
}

TEST_P(cancel_by_type, write_blocked_on_the_closed_window_is_cancelled) {
    if (version() != 2) {
        GTEST_SKIP() << "version 1 has no per-stream window";
    }
    ASSERT_TRUE(open(make_config(2)));

    bytes const data = random_bytes(v2_initial_window + 100000, 41);
    capture<smux::error_code, std::size_t> first;
    c.async_write_some(asio::buffer(data), first.handler());
    ASSERT_TRUE(run_until(ioc, first.ready()));
    ASSERT_FALSE(first.get<0>());
    ASSERT_EQ(first.get<1>(),
              v2_initial_window);  // the whole initial window, the peer reads nothing

    asio::cancellation_signal signal;
    capture<smux::error_code, std::size_t> blocked;
    c.async_write_some(
        asio::buffer(data.data() + v2_initial_window, data.size() - v2_initial_window),
        asio::bind_cancellation_slot(signal.slot(), blocked.handler()));
    run_ready(ioc);
    // The session still works meanwhile: another stream opens and carries data.
    auto other = open_pair_now(ioc, client(), server());
    ASSERT_TRUE(other);
    write_now(ioc, other->first, "other");
    EXPECT_EQ(read_once(ioc, other->second), "other");
    ASSERT_FALSE(blocked.done) << "a write beyond the window completed: "
                               << blocked.get<0>().message() << " " << blocked.get<1>();

    signal.emit(type());
    ASSERT_TRUE(run_until(ioc, blocked.ready()));
    EXPECT_EQ(blocked.get<0>(), asio::error::operation_aborted) << blocked.get<0>().message();
    EXPECT_EQ(blocked.get<1>(), 0U);

    // Nothing of the cancelled write was sent: the peer gets exactly the first v2_initial_window
    // bytes, then the rest written again, then end of file.
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto writer = [&]() -> asio::awaitable<void> {
            co_await asio::async_write(
                c, asio::buffer(data.data() + v2_initial_window, data.size() - v2_initial_window),
                asio::use_awaitable);
            c.shutdown_send();
        };
        auto [ec, got] = co_await (writer() && read_to_end(s));
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(first_difference(got, data), -1);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

INSTANTIATE_TEST_SUITE_P(versions_and_types, cancel_by_type,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(asio::cancellation_type::terminal,
                                                              asio::cancellation_type::partial,
                                                              asio::cancellation_type::total)),
                         cancel_name);

class cancellation : public ::testing::TestWithParam<int> {};

TEST_P(cancellation, read_or_timer_where_the_timer_wins_leaves_the_bytes_for_the_next_read) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        auto ex = co_await asio::this_coro::executor;
        std::array<char, 64> buf{};

        // The direct form: the read loses and is cancelled.
        asio::steady_timer t1(ex, 20ms);
        auto r1 = co_await (s.async_read_some(asio::buffer(buf), asio::use_awaitable) ||
                            t1.async_wait(asio::use_awaitable));
        EXPECT_EQ(r1.index(), 1U);

        // The same with the read's own outcome recorded.
        smux::error_code read_ec;
        std::size_t read_n = 99;
        auto reader = [&]() -> asio::awaitable<void> {
            auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
            read_ec = ec;
            read_n = n;
        };
        asio::steady_timer t2(ex, 20ms);
        auto r2 = co_await (reader() || t2.async_wait(asio::use_awaitable));
        EXPECT_EQ(r2.index(), 1U);
        EXPECT_EQ(read_ec, asio::error::operation_aborted) << read_ec.message();
        EXPECT_EQ(read_n, 0U);

        // Bytes sent afterwards go to the next read.
        std::string const text = "the bytes";
        co_await asio::async_write(c, asio::buffer(text), asio::use_awaitable);
        auto [ec, got] = co_await read_exactly(s, text.size());
        EXPECT_FALSE(ec);
        EXPECT_EQ(to_string(got), text);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(cancellation, read_or_timer_where_the_read_wins_leaves_the_stream_usable) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        auto ex = co_await asio::this_coro::executor;
        std::array<char, 64> buf{};
        std::string const text = "wins";
        co_await asio::async_write(c, asio::buffer(text), asio::use_awaitable);
        asio::steady_timer t(ex, 15s);
        auto r = co_await (s.async_read_some(asio::buffer(buf), asio::use_awaitable) ||
                           t.async_wait(asio::use_awaitable));
        EXPECT_EQ(r.index(), 0U);  // the read won; the 15 s timer is only a fallback
        if (r.index() == 0) {
            EXPECT_EQ(std::string(buf.data(), std::get<0>(r)), text);
        }
        // Both directions still work.
        std::string const more = "more";
        co_await asio::async_write(c, asio::buffer(more), asio::use_awaitable);
        auto [ec, got] = co_await read_exactly(s, more.size());
        EXPECT_FALSE(ec);
        EXPECT_EQ(to_string(got), more);
        co_await asio::async_write(s, asio::buffer(more), asio::use_awaitable);
        auto [ec2, got2] = co_await read_exactly(c, more.size());
        EXPECT_FALSE(ec2);
        EXPECT_EQ(to_string(got2), more);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(cancellation, accept_or_timer_where_the_timer_wins_loses_no_stream) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer t(ex, 20ms);
        auto r = co_await (p.server.async_accept_stream(asio::use_awaitable) ||
                           t.async_wait(asio::use_awaitable));
        EXPECT_EQ(r.index(), 1U);
        smux::stream c = co_await p.client.async_open_stream(asio::use_awaitable);
        smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
        EXPECT_EQ(s.id(), c.id());
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(cancellation, stream_cancel_completes_the_pending_read_and_keeps_the_stream) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;

    s.cancel();  // nothing pending: harmless
    std::array<char, 64> buf{};
    capture<smux::error_code, std::size_t> r;
    s.async_read_some(asio::buffer(buf), r.handler());
    run_ready(ioc);
    ASSERT_FALSE(r.done);
    s.cancel();
    ASSERT_TRUE(run_until(ioc, r.ready()));
    EXPECT_EQ(r.get<0>(), asio::error::operation_aborted) << r.get<0>().message();
    EXPECT_EQ(r.get<1>(), 0U);
    EXPECT_TRUE(s.is_open());

    write_now(ioc, c, "kept");
    EXPECT_EQ(read_once(ioc, s), "kept");
    write_now(ioc, s, "both ways");
    EXPECT_EQ(read_once(ioc, c), "both ways");
}

using cancellation_v2 = stream_pair_test<>;

TEST_F(cancellation_v2, stream_cancel_completes_a_write_blocked_on_the_window) {
    ASSERT_TRUE(open(make_config(2)));
    bytes const data = random_bytes(300000, 42);
    capture<smux::error_code, std::size_t> w;
    c.async_write_some(asio::buffer(data), w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    ASSERT_EQ(w.get<1>(), v2_initial_window);
    capture<smux::error_code, std::size_t> blocked;
    c.async_write_some(
        asio::buffer(data.data() + v2_initial_window, data.size() - v2_initial_window),
        blocked.handler());
    run_ready(ioc);
    ASSERT_FALSE(blocked.done);
    c.cancel();
    ASSERT_TRUE(run_until(ioc, blocked.ready()));
    EXPECT_EQ(blocked.get<0>(), asio::error::operation_aborted) << blocked.get<0>().message();
    EXPECT_EQ(blocked.get<1>(), 0U);
    // The peer still reads exactly what was accepted.
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        c.shutdown_send();
        auto [ec, got] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(got.size(), v2_initial_window);
        EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(cancellation, cancellation_racing_with_arriving_data_loses_nothing) {
    // Each round sends one byte and cancels a read at about the same time; whichever wins,
    // every byte is read exactly once and in order.
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        constexpr int rounds = 300;
        bytes received;
        int aborted = 0;
        for (int i = 0; i < rounds; ++i) {
            auto const byte = static_cast<std::byte>(static_cast<std::uint8_t>(i));
            asio::cancellation_signal signal;
            std::array<std::byte, 4> buf{};
            c.async_write_some(asio::buffer(&byte, 1), [](smux::error_code, std::size_t) {});
            auto read = s.async_read_some(
                asio::buffer(buf),
                asio::bind_cancellation_slot(signal.slot(),
                                             asio::experimental::as_tuple(asio::use_awaitable)));
            // The emit runs right after the read started (the read starts when awaited) and
            // is queued behind it on the strand, while the byte may or may not have arrived.
            auto ex = co_await asio::this_coro::executor;
            asio::post(ex, [&signal] { signal.emit(asio::cancellation_type::terminal); });
            auto [ec, n] = co_await std::move(read);
            if (ec == asio::error::operation_aborted) {
                ++aborted;
            } else {
                EXPECT_FALSE(ec) << ec.message();
            }
            received.insert(received.end(), buf.begin(),
                            buf.begin() + static_cast<std::ptrdiff_t>(n));
        }
        c.shutdown_send();
        auto [ec, rest] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        received.insert(received.end(), rest.begin(), rest.end());
        EXPECT_EQ(received.size(), static_cast<std::size_t>(rounds));
        for (std::size_t i = 0; i < received.size(); ++i) {
            EXPECT_EQ(received[i], static_cast<std::byte>(static_cast<std::uint8_t>(i)))
                << "at " << i;
        }
        ::testing::Test::RecordProperty("aborted_reads", aborted);
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

INSTANTIATE_TEST_SUITE_P(versions, cancellation, ::testing::Values(1, 2), version_name);

}  // namespace
