#ifndef SMUX_TOOLS_BENCH_NET_UTIL_HPP
#define SMUX_TOOLS_BENCH_NET_UTIL_HPP

// Asio helpers shared by the server and the client.

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <smux/smux.hpp>
#include <string>

namespace smux_bench {

using tcp = asio::ip::tcp;
using bench_clock = std::chrono::steady_clock;

/// Completion token of every awaited operation: errors come back as values, never thrown.
inline constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/** Runs `ioc`: plain run() when `spin` is zero (the default: what a user's program does);
    otherwise, after the last handler, it keeps polling for up to `spin` before blocking (an
    opt-in: a request/response partner on another CPU often answers within microseconds, and
    waking a thread from an idle CPU costs more than that). Spinning's CPU time shows in the
    result line. */
void run_loop(asio::io_context& ioc, std::chrono::microseconds spin);

/// Splits "HOST:PORT" or "[V6HOST]:PORT"; throws std::invalid_argument.
struct host_port {
    std::string host;
    std::string port;
};
[[nodiscard]] host_port split_host_port(std::string const& text);

/// "127.0.0.1:40123" or "[::1]:40123".
[[nodiscard]] std::string format_endpoint(tcp::endpoint const& ep);

/// Resolves "HOST:PORT" (a name or a numeric address); throws std::system_error or
/// std::invalid_argument. `passive`: for binding (an empty host means any address).
[[nodiscard]] tcp::resolver::results_type resolve(asio::io_context& ioc, std::string const& text,
                                                  bool passive);

/// TCP_NODELAY, as Go sets it on every TCP connection.
void set_no_delay(tcp::socket& s) noexcept;

/// "Close a stream" (section 1): FIN on a smux stream, close(2) on a connection.
inline void close_stream(smux::stream& s) noexcept {
    s.close();
}
inline void close_stream(tcp::socket& s) noexcept {
    asio::error_code ignored;
    s.close(ignored);
}

/** Connects `s` to the first endpoint that accepts. With a timeout the attempt is abandoned
    after it (asio::error::timed_out); without one there is no timer at all (measured paths). */
[[nodiscard]] asio::awaitable<asio::error_code> dial(tcp::socket& s,
                                                     tcp::resolver::results_type const& endpoints,
                                                     std::optional<bench_clock::duration> timeout);

/// Waits for `d` (ends early, without error, when cancelled).
asio::awaitable<void> sleep_for(bench_clock::duration d);

}  // namespace smux_bench

#endif
