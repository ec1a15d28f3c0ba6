// The shortest useful exchange over a socketpair: open, write, half-close, echo, read to EOF.

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>
#include <string>

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

class smoke : public ::testing::TestWithParam<int> {};

TEST_P(smoke, echo_over_socketpair) {
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), b(ioc);
    asio::local::connect_pair(a, b);
    smux::config cfg;
    cfg.version = GetParam();
    smux::local_session client(smux::role::client, std::move(a), cfg);
    smux::local_session server(smux::role::server, std::move(b), cfg);

    std::string client_got;
    smux::error_code client_end;
    std::uint32_t accepted_id = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await server.async_accept_stream(asio::use_awaitable);
            accepted_id = s.id();
            std::string got;
            auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(got), as_tuple);
            EXPECT_EQ(ec, asio::error::eof);
            co_await asio::async_write(s, asio::buffer(got), asio::use_awaitable);
            s.shutdown_send();
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await client.async_open_stream(asio::use_awaitable);
            EXPECT_EQ(s.id(), 3U);  // the Go reference's first client stream
            co_await asio::async_write(s, asio::buffer(std::string("hello smux")),
                                       asio::use_awaitable);
            s.shutdown_send();
            auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(client_got), as_tuple);
            client_end = ec;
            client.close();
        },
        asio::detached);
    ioc.run();
    EXPECT_EQ(accepted_id, 3U);
    EXPECT_EQ(client_got, "hello smux");
    EXPECT_EQ(client_end, asio::error::eof);
}

INSTANTIATE_TEST_SUITE_P(versions, smoke, ::testing::Values(1, 2));

}  // namespace
