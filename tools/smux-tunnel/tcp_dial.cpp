#include "tcp_dial.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>

#include "address.hpp"
#include "stream_acceptor.hpp"

namespace smux_tunnel {

asio::awaitable<tcp_dial_result> dial_tcp(std::string const& remote) {
    using namespace asio::experimental::awaitable_operators;
    constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
    auto const ex = co_await asio::this_coro::executor;
    tcp_dial_result result;
    auto hp = split_host_port(remote, "--remoteaddr");  // validated: a host:port
    if (hp->host.empty()) {
        hp->host = "127.0.0.1";  // Go dials the local system for an empty host
    }
    result.host = hp->host;
    std::vector<asio::ip::tcp::endpoint> endpoints;
    try {
        endpoints = co_await resolve_tcp(*hp);
    } catch (std::system_error const& e) {
        result.failure = "resolving " + remote + ": " + e.what();
        co_return result;
    }
    asio::ip::tcp::socket socket(ex);
    asio::steady_timer deadline(ex, handshake_timeout);
    auto outcome = co_await (asio::async_connect(socket, endpoints, as_tuple) ||
                             deadline.async_wait(as_tuple));
    if (outcome.index() == 1) {
        result.failure = "connecting to " + remote + ": no answer within " +
                         std::to_string(handshake_timeout.count()) + " s";
        co_return result;
    }
    auto const [ec, connected] = std::get<0>(outcome);
    if (ec) {
        result.failure = "connecting to " + remote + ": " + ec.message();
        co_return result;
    }
    asio::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    result.peer = to_string(connected);
    result.socket.emplace(std::move(socket));
    co_return result;
}

}  // namespace smux_tunnel
