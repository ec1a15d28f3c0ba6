// smux sessions over KCP conversations: basic_session<kcp::stream> unchanged.

#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <smux/session.hpp>

#include "kcp_asio/kcp_test_support.hpp"

namespace {

using namespace kcp_asio_test;
using asio::awaitable;
using asio::use_awaitable;
using kcp_session = smux::basic_session<smux::kcp::stream>;

TEST(KcpSession, ManyStreamsOverOneConversation) {
    asio::io_context ioc;
    auto const o = test_options("aes", 10, 3);
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    std::optional<kcp_session> client;
    client.emplace(smux::role::client, connected_client(ioc, l.local_endpoint(), o));
    std::optional<kcp_session> server;
    constexpr int streams = 16;
    constexpr std::size_t each = 64 * 1024;
    int echoed = 0;
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        server.emplace(smux::role::server, co_await l.async_accept(use_awaitable));
        for (int i = 0; i < streams; ++i) {
            auto s =
                std::make_shared<smux::stream>(co_await server->async_accept_stream(use_awaitable));
            asio::co_spawn(
                s->get_executor(),
                [s]() -> awaitable<void> {
                    std::vector<std::byte> buf(each);
                    co_await asio::async_read(*s, asio::buffer(buf), use_awaitable);
                    co_await asio::async_write(*s, asio::buffer(buf), use_awaitable);
                },
                asio::detached);
        }
    });
    for (int i = 0; i < streams; ++i) {
        g.spawn(ioc, [&, i]() -> awaitable<void> {
            auto s = co_await client->async_open_stream(use_awaitable);
            std::vector<std::byte> out(each);
            for (std::size_t k = 0; k < each; ++k) {
                out[k] = kcp_pattern(k + static_cast<std::size_t>(i));
            }
            co_await asio::async_write(s, asio::buffer(out), use_awaitable);
            std::vector<std::byte> back(each);
            co_await asio::async_read(s, asio::buffer(back), use_awaitable);
            EXPECT_EQ(back, out);
            ++echoed;
        });
    }
    EXPECT_TRUE(g.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(echoed, streams);
    client->close();
    if (server) {
        server->close();
    }
    l.close();
    run_ready(ioc);
}

}  // namespace
