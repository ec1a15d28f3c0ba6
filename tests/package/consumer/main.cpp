// Echoes one message through a smux session over a socketpair; exits 0 when it came back.
// Built by tests/package/run.sh against an installed smux and through FetchContent, and by
// tests/package/shared.sh against shared libraries. Two checks matter to a shared libsmux,
// which must share Asio's per-process state with the program (cmake/SmuxVisibility.cmake):
// the server reads synchronously on the session's strand, where this program's code runs it
// (a library with strand bookkeeping of its own could answer smux::error::not_on_strand), and
// the end of the stream, reported by the library, must equal this program's asio::error::eof.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/io_service.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <smux/smux.hpp>
#include <string>

namespace {

/// Reads `out.size()` bytes with the stream's non-blocking read_some, waiting in between.
asio::awaitable<smux::error_code> read_on_strand(smux::stream& s, std::string& out) {
    std::size_t have = 0;
    while (have < out.size()) {
        co_await s.async_wait(smux::stream::wait_read, asio::use_awaitable);
        smux::error_code ec;
        have += s.read_some(asio::buffer(out.data() + have, out.size() - have), ec);
        if (ec) {
            co_return ec;
        }
    }
    co_return smux::error_code{};
}

}  // namespace

int main() {
    // Asio's deprecated name on purpose: smux keeps ASIO_NO_DEPRECATED to its own targets.
    asio::io_service ioc;
    asio::local::stream_protocol::socket a(ioc), b(ioc);
    asio::local::connect_pair(a, b);
    smux::local_session client(smux::role::client, std::move(a));
    smux::local_session server(smux::role::server, std::move(b));
    std::string reply(5, '\0');
    bool server_ok = false;
    auto fail = [&](char const* what, smux::error_code ec) {
        std::fprintf(stderr, "consumer: %s: %s\n", what, ec.message().c_str());
        client.close();
        server.close();
    };
    // On the server session's strand, so that its streams' synchronous reads may run here.
    asio::co_spawn(
        server.get_executor(),
        [&]() -> asio::awaitable<void> {
            auto s = co_await server.async_accept_stream(asio::use_awaitable);
            std::string got(5, '\0');
            smux::error_code const ec = co_await read_on_strand(s, got);
            if (ec) {
                fail("read_some on the strand", ec);
                co_return;
            }
            char more = 0;
            smux::error_code end;
            co_await s.async_read_some(asio::buffer(&more, 1),
                                       asio::redirect_error(asio::use_awaitable, end));
            if (end != asio::error::eof) {
                fail("after the peer's FIN, not asio::error::eof", end);
                co_return;
            }
            co_await asio::async_write(s, asio::buffer(got), asio::use_awaitable);
            server_ok = true;
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto s = co_await client.async_open_stream(asio::use_awaitable);
            co_await asio::async_write(s, asio::buffer(std::string("smux!")), asio::use_awaitable);
            s.shutdown_send();
            co_await asio::async_read(s, asio::buffer(reply), asio::use_awaitable);
            client.close();
            server.close();
        },
        asio::detached);
    ioc.run();
    return server_ok && reply == "smux!" ? 0 : 1;
}
