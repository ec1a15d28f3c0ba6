#include "dialer.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <variant>

namespace smux_bench {

asio::awaitable<std::tuple<asio::error_code, tcp::socket>> tcp_dialer::connect(
    asio::io_context& ioc, std::optional<bench_clock::duration> timeout) {
    tcp::socket s(ioc);
    auto const ec = co_await dial(s, endpoints_, timeout);
    if (!ec) {
        set_no_delay(s);
    }
    co_return std::tuple<asio::error_code, tcp::socket>{ec, std::move(s)};
}

namespace {

asio::awaitable<asio::error_code> handshake(tls_socket& s,
                                            std::optional<bench_clock::duration> timeout) {
    if (!timeout) {
        auto [ec] = co_await s.async_handshake(tls_socket::client, as_tuple);
        co_return ec;
    }
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, *timeout);
    auto r =
        co_await (s.async_handshake(tls_socket::client, as_tuple) || timer.async_wait(as_tuple));
    if (r.index() == 1) {
        co_return asio::error::timed_out;
    }
    co_return std::get<0>(std::get<0>(r));
}

}  // namespace

asio::awaitable<std::tuple<asio::error_code, tls_socket>> tls_dialer::connect(
    asio::io_context& ioc, std::optional<bench_clock::duration> timeout) {
    auto [ec, socket] = co_await tcp_.connect(ioc, timeout);
    tls_socket s(std::move(socket), ctx_);
    if (!ec) {
        ec = co_await handshake(s, timeout);
    }
    if (ec) {
        close_stream(s);
    }
    co_return std::tuple<asio::error_code, tls_socket>{ec, std::move(s)};
}

}  // namespace smux_bench
