// Echoes one message over KCP on 127.0.0.1 (kcptun's default cipher, FEC and mode) and makes a
// TLS client context for smux/ssl.hpp; exits 0 when the message came back. Built by
// tests/package/run.sh with find_package(smux COMPONENTS kcp ssl) and with pkg-config
// (smux-kcp, smux-ssl), against an installed smux and an unpacked libsmux-dev package.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <smux/kcp/asio/listener.hpp>
#include <smux/kcp/asio/stream.hpp>
#include <smux/ssl.hpp>
#include <string>

int main() {
    asio::ssl::context tls(asio::ssl::context::tls_client);  // links libssl through smux::ssl
    asio::io_context ioc;
    smux::kcp::options const opts;  // kcptun's client defaults
    smux::kcp::listener listener(ioc.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                                 opts);
    smux::kcp::stream client(ioc.get_executor(), opts);
    std::string const message = "hello over kcp";
    std::string reply(message.size(), '\0');
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await listener.async_accept(asio::use_awaitable);
            std::string got(message.size(), '\0');
            co_await asio::async_read(s, asio::buffer(got), asio::use_awaitable);
            co_await asio::async_write(s, asio::buffer(got), asio::use_awaitable);
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await client.async_connect(listener.local_endpoint(), asio::use_awaitable);
            co_await asio::async_write(client, asio::buffer(message), asio::use_awaitable);
            co_await asio::async_read(client, asio::buffer(reply), asio::use_awaitable);
            client.close();
            listener.close();
        },
        asio::detached);
    ioc.run_for(std::chrono::seconds(20));
    if (reply != message) {
        std::fprintf(stderr, "consumer_kcp: no echo over KCP\n");
        return 1;
    }
    return 0;
}
