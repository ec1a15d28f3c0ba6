#include "echo_server.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <iostream>
#include <smux/smux.hpp>

namespace smux_echo {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo_stream(smux::stream s) {
    // Not zero-filled: only bytes a read stored are written back, and a flood of streams
    // should not cost a memset of every buffer.
    std::array<char, echo_buffer_size> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buffer), as_tuple);
        if (n > 0) {
            auto [wec, written] =
                co_await asio::async_write(s, asio::buffer(buffer.data(), n), as_tuple);
            if (wec) {
                break;
            }
        }
        if (ec) {
            break;  // eof after the peer's FIN, or the session ended
        }
    }
    s.close();
}

asio::awaitable<void> serve_session(asio::ip::tcp::socket socket, smux::config cfg) {
    auto const peer = socket.remote_endpoint();
    smux::tcp_session session(smux::role::server, std::move(socket), cfg);
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            std::clog << "session from " << peer << " ended: " << ec.message() << '\n';
            break;
        }
        auto const ex = s.get_executor();  // before the move below: argument order is unspecified
        asio::co_spawn(ex, echo_stream(std::move(s)), asio::detached);
    }
}

}  // namespace

asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(as_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            std::clog << "accept failed: " << ec.message() << '\n';
            continue;
        }
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        auto const ex = socket.get_executor();
        asio::co_spawn(ex, serve_session(std::move(socket), cfg), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& failure) {
                    std::clog << "session failed: " << failure.what() << '\n';
                }
            }
        });
    }
}

}  // namespace smux_echo
