#ifndef SMUX_TOOLS_BENCH_TRANSPORT_HPP
#define SMUX_TOOLS_BENCH_TRANSPORT_HPP

// How the client gets its bench streams: smux streams over C data sessions (plus a control
// session for STATS), or one connection per stream (--raw). Each is a template over the
// dialer (TCP or TLS); the client's modes are templates over the transports, which offer the
// same members.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <smux/session.hpp>
#include <smux/smux.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "dialer.hpp"
#include "io_pool.hpp"
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

template <class Dialer>
class smux_transport {
  public:
    using stream_type = smux::stream;
    using session_type = smux::basic_session<typename Dialer::socket_type>;

    /// Data session j lives on context j of `pool`, the control session on context 0.
    smux_transport(io_pool& pool, Dialer dialer, smux::config cfg, int conns);

    /// Opens the data sessions and the control session; an error message, empty on success.
    asio::awaitable<std::string> connect();

    /// Opens stream `i` on data session i mod C (`measured` makes no difference here).
    asio::awaitable<std::tuple<asio::error_code, smux::stream>> open(std::size_t i, bool measured);

    /// Where stream i's coroutines run: its session's context.
    [[nodiscard]] asio::any_io_executor executor_for(std::size_t i) const {
        return pool_.context(i % static_cast<std::size_t>(conns_)).get_executor();
    }

    /// A STATS query on the control session, with a deadline.
    asio::awaitable<stats_result> query_stats();

    /// Keeps an idle stream open until `close_all`.
    void hold(smux::stream s) { held_.push_back(std::move(s)); }
    void reserve_held(std::size_t n) { held_.reserve(n); }
    [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

    /// Closes the held streams and every session.
    void close_all() noexcept;

  private:
    io_pool& pool_;
    Dialer dialer_;
    smux::config cfg_;
    int conns_;
    std::vector<session_type> sessions_;
    std::optional<session_type> control_;
    std::vector<smux::stream> held_;
};

template <class Dialer>
class raw_transport {
  public:
    using stream_type = typename Dialer::socket_type;

    /// Connection i lives on context i of `pool`, as do its coroutines.
    raw_transport(io_pool& pool, Dialer dialer) : pool_(pool), dialer_(std::move(dialer)) {}

    /// Nothing to do before the streams: every stream is its own connection.
    asio::awaitable<std::string> connect() { co_return std::string{}; }

    /// Connects a new connection; outside measured paths with the dial timeout.
    asio::awaitable<std::tuple<asio::error_code, stream_type>> open(std::size_t i, bool measured);

    [[nodiscard]] asio::any_io_executor executor_for(std::size_t i) const {
        return pool_.context(i).get_executor();
    }

    /// A STATS query on a new connection, with a deadline.
    asio::awaitable<stats_result> query_stats();

    void hold(stream_type s) { held_.push_back(std::move(s)); }
    void reserve_held(std::size_t n) { held_.reserve(n); }
    [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

    void close_all() noexcept;

  private:
    io_pool& pool_;
    Dialer dialer_;
    std::vector<stream_type> held_;
};

}  // namespace smux_bench

#endif
