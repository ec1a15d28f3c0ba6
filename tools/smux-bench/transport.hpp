#ifndef SMUX_TOOLS_BENCH_TRANSPORT_HPP
#define SMUX_TOOLS_BENCH_TRANSPORT_HPP

// How the client gets its bench streams: smux streams over C data sessions (plus a control
// session for STATS), or one TCP connection per stream (--raw). The client's modes are
// templates over these two classes, which offer the same members.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <optional>
#include <smux/smux.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "net_util.hpp"
#include "protocol.hpp"

namespace smux_bench {

/// Timeouts outside the measured paths. Measured paths carry no timer; the client's overall
/// give-up timer covers them.
inline constexpr auto dial_timeout = std::chrono::seconds(10);
inline constexpr auto stats_timeout = std::chrono::seconds(30);
inline constexpr auto ack_timeout = std::chrono::seconds(30);

/// Result of a STATS query: an error message (empty on success) and the record.
using stats_result = std::tuple<std::string, stats_record>;

class smux_transport {
  public:
    using stream_type = smux::stream;

    smux_transport(asio::io_context& ioc, tcp::resolver::results_type endpoints, smux::config cfg,
                   int conns);

    /// Opens the data sessions and the control session; an error message, empty on success.
    asio::awaitable<std::string> connect();

    /// Opens stream `i` on data session i mod C (`measured` makes no difference here).
    asio::awaitable<std::tuple<asio::error_code, smux::stream>> open(std::size_t i, bool measured);

    /// A STATS query on the control session, with a deadline.
    asio::awaitable<stats_result> query_stats();

    /// Keeps an idle stream open until `close_all`.
    void hold(smux::stream s) { held_.push_back(std::move(s)); }
    void reserve_held(std::size_t n) { held_.reserve(n); }
    [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

    /// Closes the held streams and every session.
    void close_all() noexcept;

  private:
    asio::io_context& ioc_;
    tcp::resolver::results_type endpoints_;
    smux::config cfg_;
    int conns_;
    std::vector<smux::tcp_session> sessions_;
    std::optional<smux::tcp_session> control_;
    std::vector<smux::stream> held_;
};

class raw_transport {
  public:
    using stream_type = tcp::socket;

    raw_transport(asio::io_context& ioc, tcp::resolver::results_type endpoints);

    /// Nothing to do before the streams: every stream is its own connection.
    asio::awaitable<std::string> connect() { co_return std::string{}; }

    /// Connects a new TCP connection; outside measured paths with the dial timeout.
    asio::awaitable<std::tuple<asio::error_code, tcp::socket>> open(std::size_t i, bool measured);

    /// A STATS query on a new connection, with a deadline.
    asio::awaitable<stats_result> query_stats();

    void hold(tcp::socket s) { held_.push_back(std::move(s)); }
    void reserve_held(std::size_t n) { held_.reserve(n); }
    [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

    void close_all() noexcept;

  private:
    asio::io_context& ioc_;
    tcp::resolver::results_type endpoints_;
    std::vector<tcp::socket> held_;
};

}  // namespace smux_bench

#endif
