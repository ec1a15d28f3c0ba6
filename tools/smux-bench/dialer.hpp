#ifndef SMUX_TOOLS_BENCH_DIALER_HPP
#define SMUX_TOOLS_BENCH_DIALER_HPP

// How the client makes one connection: plain TCP, or TLS over TCP (--tls). The transports are
// templates over these two classes, which offer the same members.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <optional>
#include <tuple>

#include "net_util.hpp"
#include "tls.hpp"

namespace smux_bench {

class tcp_dialer {
  public:
    using socket_type = tcp::socket;

    explicit tcp_dialer(tcp::resolver::results_type endpoints) : endpoints_(std::move(endpoints)) {}

    /** A new connection whose socket belongs to `ioc`, with TCP_NODELAY. With a timeout the
        attempt is abandoned after it; without one there is no timer (measured paths). */
    asio::awaitable<std::tuple<asio::error_code, tcp::socket>> connect(
        asio::io_context& ioc, std::optional<bench_clock::duration> timeout);

  private:
    tcp::resolver::results_type endpoints_;
};

class tls_dialer {
  public:
    using socket_type = tls_socket;

    /// `ctx` outlives the dialer and every connection it makes.
    tls_dialer(tcp::resolver::results_type endpoints, asio::ssl::context& ctx)
        : tcp_(std::move(endpoints)), ctx_(ctx) {}

    /// As tcp_dialer::connect, followed by the client's TLS handshake (under the same timeout,
    /// each).
    asio::awaitable<std::tuple<asio::error_code, tls_socket>> connect(
        asio::io_context& ioc, std::optional<bench_clock::duration> timeout);

  private:
    tcp_dialer tcp_;
    asio::ssl::context& ctx_;
};

}  // namespace smux_bench

#endif
