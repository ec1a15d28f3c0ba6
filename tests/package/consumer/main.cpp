// Echoes one message through a smux session over a socketpair; exits 0 when it came back.
// Built by tests/package/run.sh against an installed smux and through FetchContent.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/io_service.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>
#include <string>

int main() {
    // Asio's deprecated name on purpose: smux keeps ASIO_NO_DEPRECATED to its own targets.
    asio::io_service ioc;
    asio::local::stream_protocol::socket a(ioc), b(ioc);
    asio::local::connect_pair(a, b);
    smux::local_session client(smux::role::client, std::move(a));
    smux::local_session server(smux::role::server, std::move(b));
    std::string reply(5, '\0');
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await server.async_accept_stream(asio::use_awaitable);
            std::string got(5, '\0');
            co_await asio::async_read(s, asio::buffer(got), asio::use_awaitable);
            co_await asio::async_write(s, asio::buffer(got), asio::use_awaitable);
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await client.async_open_stream(asio::use_awaitable);
            co_await asio::async_write(s, asio::buffer(std::string("smux!")), asio::use_awaitable);
            co_await asio::async_read(s, asio::buffer(reply), asio::use_awaitable);
            client.close();
            server.close();
        },
        asio::detached);
    ioc.run();
    return reply == "smux!" ? 0 : 1;
}
