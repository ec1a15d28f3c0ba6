#include "echo_server.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <iostream>
#include <memory>
#include <smux/smux.hpp>

namespace smux_echo {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

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

asio::awaitable<void> echo_stream(smux::stream s, echo_write_gauge* gauge) {
    for (;;) {
        auto [wait_ec] = co_await s.async_wait(smux::stream::wait_read, as_tuple);
        if (wait_ec) {
            break;
        }
        // A buffer for this message only, no larger than what is there. At least one byte, so
        // that after the peer's FIN the read reports end of file.
        smux::error_code ec;
        std::size_t const size = std::clamp<std::size_t>(s.available(ec), 1, echo_buffer_size);
        auto buffer = std::make_unique_for_overwrite<char[]>(size);
        std::size_t const n = s.read_some(asio::buffer(buffer.get(), size), ec);
        if (n > 0) {
            if (gauge != nullptr) {
                gauge->peak = std::max(gauge->peak, ++gauge->current);
            }
            auto [wec, written] =
                co_await asio::async_write(s, asio::buffer(buffer.get(), n), as_tuple);
            if (gauge != nullptr) {
                --gauge->current;
            }
            if (wec) {
                break;
            }
        }
        if (ec && ec != asio::error::would_block) {
            break;  // eof after the peer's FIN, or the session ended
        }
    }
    s.close();
}

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
