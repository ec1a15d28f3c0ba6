// kcp::stream and kcp::listener over 127.0.0.1: echo, a checksummed multi-MiB transfer,
// several clients, cancellation, tokens, expiry.

#include <asio/bind_cancellation_slot.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "kcp_asio/kcp_test_support.hpp"

namespace {

using namespace kcp_asio_test;
using asio::awaitable;
using asio::use_awaitable;

/// Accepts `n` conversations and echoes each until its peer stops (the test ends it).
awaitable<void> echo_server(smux::kcp::listener& l, int count) {
    for (int i = 0; i < count; ++i) {
        auto s = std::make_shared<smux::kcp::stream>(co_await l.async_accept(use_awaitable));
        asio::co_spawn(
            s->get_executor(),
            [s]() -> awaitable<void> {
                std::array<char, 4096> buf{};
                for (;;) {
                    auto [ec, n] =
                        co_await s->async_read_some(asio::buffer(buf), as_tuple_awaitable);
                    if (ec) {
                        co_return;
                    }
                    co_await asio::async_write(*s, asio::buffer(buf.data(), n), use_awaitable);
                }
            },
            asio::detached);
    }
}

TEST(KcpStream, EchoThroughListener) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), test_options());
    auto c = connected_client(ioc, l.local_endpoint(), test_options());
    EXPECT_NE(c.conv(), 0U);
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> { co_await echo_server(l, 1); });
    g.spawn(ioc, [&]() -> awaitable<void> { co_await echo_once(c, "hello over kcp"); });
    EXPECT_TRUE(g.wait(ioc));
    EXPECT_EQ(l.stats().conversations, 1U);
    c.close();
    l.close();
}

TEST(KcpStream, ServesSeveralClients) {
    asio::io_context ioc;
    auto const o = test_options("salsa20", 0, 0);
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    std::vector<smux::kcp::stream> clients;
    for (int i = 0; i < 6; ++i) {
        clients.push_back(connected_client(ioc, l.local_endpoint(), o));
    }
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> { co_await echo_server(l, 6); });
    for (std::size_t i = 0; i < clients.size(); ++i) {
        g.spawn(ioc, [&, i]() -> awaitable<void> {
            for (int round = 0; round < 5; ++round) {
                co_await echo_once(
                    clients[i], "client " + std::to_string(i) + " round " + std::to_string(round));
            }
        });
    }
    EXPECT_TRUE(g.wait(ioc));
    EXPECT_EQ(l.stats().conversations, 6U);
    EXPECT_EQ(l.stats().live, 6U);
}

/// One direction, checked byte by byte and by a running sum.
void checksummed_transfer(smux::kcp::options const& o, std::size_t total) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    auto c = connected_client(ioc, l.local_endpoint(), o);
    std::uint64_t sent_sum = 0;
    std::uint64_t got_sum = 0;
    std::size_t got = 0;
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        std::vector<std::byte> chunk(64 * 1024);
        for (std::size_t off = 0; off < total; off += chunk.size()) {
            std::size_t const n = std::min(chunk.size(), total - off);
            for (std::size_t i = 0; i < n; ++i) {
                chunk[i] = kcp_pattern(off + i);
                sent_sum = sent_sum * 31 + std::to_integer<unsigned>(chunk[i]);
            }
            co_await asio::async_write(c, asio::buffer(chunk.data(), n), use_awaitable);
        }
    });
    g.spawn(ioc, [&]() -> awaitable<void> {
        auto s = co_await l.async_accept(use_awaitable);
        std::vector<std::byte> buf(50000);
        while (got < total) {
            std::size_t const n = co_await s.async_read_some(asio::buffer(buf), use_awaitable);
            for (std::size_t i = 0; i < n; ++i) {
                EXPECT_EQ(buf[i], kcp_pattern(got + i));
                got_sum = got_sum * 31 + std::to_integer<unsigned>(buf[i]);
            }
            got += n;
        }
    });
    EXPECT_TRUE(g.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(got, total);
    EXPECT_EQ(got_sum, sent_sum);
}

TEST(KcpStream, MultiMegabyteTransferWithFec) {
    checksummed_transfer(test_options("aes", 10, 3), sanitized_build ? 4U << 20 : 16U << 20);
}

TEST(KcpStream, MultiMegabyteTransferWithoutFecOrCipher) {
    checksummed_transfer(test_options("", 0, 0), sanitized_build ? 4U << 20 : 16U << 20);
}

TEST(KcpStream, PendingReadIsCancelledAndTheStreamGoesOn) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), test_options());
    auto c = connected_client(ioc, l.local_endpoint(), test_options());
    asio::cancellation_signal cancel;
    std::optional<smux::error_code> result;
    std::array<char, 16> buf{};
    c.async_read_some(
        asio::buffer(buf),
        asio::bind_cancellation_slot(cancel.slot(), [&](smux::error_code ec, std::size_t n) {
            EXPECT_EQ(n, 0U);
            result = ec;
        }));
    run_ready(ioc);
    EXPECT_FALSE(result);
    cancel.emit(asio::cancellation_type::terminal);
    EXPECT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, asio::error::operation_aborted);
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> { co_await echo_server(l, 1); });
    g.spawn(ioc, [&]() -> awaitable<void> { co_await echo_once(c, "still alive"); });
    EXPECT_TRUE(g.wait(ioc));
}

TEST(KcpStream, CallbacksDeferredAndSecondReadRefused) {
    asio::io_context ioc;
    smux::kcp::stream c(ioc.get_executor(), test_options());
    std::optional<smux::error_code> connected;
    auto op = c.async_connect(
        smux::kcp::listener(ioc.get_executor(), loopback(), test_options()).local_endpoint(),
        asio::experimental::deferred);
    std::move(op)([&](smux::error_code ec) { connected = ec; });
    EXPECT_TRUE(run_until(ioc, [&] { return connected.has_value(); }));
    EXPECT_FALSE(*connected);
    std::array<char, 4> buf{};
    std::optional<smux::error_code> first, second;
    c.async_read_some(asio::buffer(buf), [&](smux::error_code ec, std::size_t) { first = ec; });
    c.async_read_some(asio::buffer(buf), [&](smux::error_code ec, std::size_t) { second = ec; });
    EXPECT_TRUE(run_until(ioc, [&] { return second.has_value(); }));
    EXPECT_EQ(*second, smux::error::operation_in_progress);
    c.close();
    EXPECT_TRUE(run_until(ioc, [&] { return first.has_value(); }));
    EXPECT_EQ(*first, asio::error::operation_aborted);
    std::optional<smux::error_code> after;
    c.async_write_some(asio::buffer(buf), [&](smux::error_code ec, std::size_t) { after = ec; });
    EXPECT_TRUE(run_until(ioc, [&] { return after.has_value(); }));
    EXPECT_EQ(*after, asio::error::bad_descriptor);
}

TEST(KcpStream, IdleConversationExpires) {
    asio::io_context ioc;
    auto server_opts = test_options();
    server_opts.idle_timeout = 300ms;
    smux::kcp::listener l(ioc.get_executor(), loopback(), server_opts);
    auto c = connected_client(ioc, l.local_endpoint(), test_options());
    std::optional<smux::error_code> server_read;
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        auto s = co_await l.async_accept(use_awaitable);
        std::array<char, 5> buf{};
        co_await asio::async_read(s, asio::buffer(buf), use_awaitable);
        c.close();  // the client goes quiet: no datagram reaches the server any more
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        server_read = ec;
    });
    g.spawn(ioc, [&]() -> awaitable<void> {
        co_await asio::async_write(c, asio::buffer("hello", 5), use_awaitable);
    });
    EXPECT_TRUE(g.wait(ioc));
    ASSERT_TRUE(server_read);
    EXPECT_EQ(*server_read, asio::error::timed_out);
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().live == 0; }));
}

}  // namespace
