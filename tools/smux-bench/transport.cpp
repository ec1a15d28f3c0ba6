#include "transport.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <variant>

namespace smux_bench {

namespace {

/// Header out, record in; an error message, empty on success.
template <class Stream>
asio::awaitable<std::string> stats_exchange(Stream& s, stats_record& out) {
    auto const hdr = encode_header(tag::stats, 0);
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(hdr), as_tuple);
    if (wec) {
        co_return "STATS: write: " + wec.message();
    }
    stats_bytes rec;
    auto [rec_ec, r] = co_await asio::async_read(s, asio::buffer(rec), as_tuple);
    if (rec_ec) {
        co_return "STATS: read: " + rec_ec.message();
    }
    out = decode_stats(rec);
    co_return std::string{};
}

template <class Stream>
asio::awaitable<stats_result> stats_query(Stream s) {
    using namespace asio::experimental::awaitable_operators;
    stats_record rec;
    auto r = co_await (stats_exchange(s, rec) || sleep_for(stats_timeout));
    close_stream(s);
    if (r.index() == 1) {
        co_return stats_result{"STATS: no reply within 30 s", {}};
    }
    co_return stats_result{std::move(std::get<0>(r)), rec};
}

}  // namespace

// ---- smux

template <class Dialer>
smux_transport<Dialer>::smux_transport(io_pool& pool, Dialer dialer, smux::config cfg, int conns)
    : pool_(pool), dialer_(std::move(dialer)), cfg_(cfg), conns_(conns) {}

template <class Dialer>
asio::awaitable<std::string> smux_transport<Dialer>::connect() {
    sessions_.reserve(static_cast<std::size_t>(conns_));
    for (int i = 0; i <= conns_; ++i) {
        auto& ioc = pool_.context(i < conns_ ? static_cast<std::size_t>(i) : 0);
        auto [ec, socket] = co_await dialer_.connect(ioc, dial_timeout);
        if (ec) {
            co_return "connect: " + ec.message();
        }
        session_type session(smux::role::client, std::move(socket), cfg_);
        if (i < conns_) {
            sessions_.push_back(std::move(session));
        } else {
            control_.emplace(std::move(session));
        }
    }
    co_return std::string{};
}

template <class Dialer>
asio::awaitable<std::tuple<asio::error_code, smux::stream>> smux_transport<Dialer>::open(
    std::size_t i, bool) {
    auto [ec, s] = co_await sessions_[i % sessions_.size()].async_open_stream(as_tuple);
    co_return std::tuple<asio::error_code, smux::stream>{ec, std::move(s)};
}

template <class Dialer>
asio::awaitable<stats_result> smux_transport<Dialer>::query_stats() {
    auto [ec, s] = co_await control_->async_open_stream(as_tuple);
    if (ec) {
        co_return stats_result{"STATS: open: " + ec.message(), {}};
    }
    co_return co_await stats_query(std::move(s));
}

template <class Dialer>
void smux_transport<Dialer>::close_all() noexcept {
    for (auto& s : held_) {
        s.close();
    }
    held_.clear();
    for (auto& s : sessions_) {
        s.close();
    }
    if (control_) {
        control_->close();
    }
}

// ---- raw

template <class Dialer>
asio::awaitable<std::tuple<asio::error_code, typename raw_transport<Dialer>::stream_type>>
raw_transport<Dialer>::open(std::size_t i, bool measured) {
    std::optional<bench_clock::duration> timeout;
    if (!measured) {
        timeout = dial_timeout;
    }
    co_return co_await dialer_.connect(pool_.context(i), timeout);
}

template <class Dialer>
asio::awaitable<stats_result> raw_transport<Dialer>::query_stats() {
    auto [ec, s] = co_await dialer_.connect(pool_.context(0), dial_timeout);
    if (ec) {
        co_return stats_result{"STATS: connect: " + ec.message(), {}};
    }
    co_return co_await stats_query(std::move(s));
}

template <class Dialer>
void raw_transport<Dialer>::close_all() noexcept {
    for (auto& s : held_) {
        close_stream(s);
    }
    held_.clear();
}

template class smux_transport<tcp_dialer>;
template class smux_transport<tls_dialer>;
template class raw_transport<tcp_dialer>;
template class raw_transport<tls_dialer>;

}  // namespace smux_bench
