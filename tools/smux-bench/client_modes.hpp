#ifndef SMUX_TOOLS_BENCH_CLIENT_MODES_HPP
#define SMUX_TOOLS_BENCH_CLIENT_MODES_HPP

// The client's modes (section 5 of the contract): what each one runs and measures. Templates
// over the transport (smux_transport or raw_transport, each over TCP or TLS), instantiated for
// the four. A stream's worker runs on the transport's executor for it (its connection's
// thread with --threads), so what workers share is safe across threads.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "options.hpp"
#include "result.hpp"

namespace smux_bench {

/// What a mode measured; fields a mode does not use stay zero.
struct mode_result {
    std::chrono::nanoseconds elapsed{0};
    std::int64_t total_bytes = 0;          ///< bulk
    std::int64_t ops = 0;                  ///< rpc, open
    std::vector<std::int64_t> samples_ns;  ///< rpc, open: one latency per op
    std::int64_t rss_base = 0;             ///< idle: client RSS before opening
    std::int64_t rss_idle = 0;             ///< idle: client RSS after holding
};

/// bulk-up (SINK) when `up`, bulk-down (SOURCE) otherwise.
template <class Transport>
asio::awaitable<mode_result> run_bulk(Transport& t, client_options const& o, error_log& errs,
                                      bool up);

template <class Transport>
asio::awaitable<mode_result> run_rpc(Transport& t, client_options const& o, error_log& errs);

template <class Transport>
asio::awaitable<mode_result> run_open(Transport& t, client_options const& o, error_log& errs);

/// Leaves the streams that got their ack held in `t` (closed by the caller after the last
/// STATS query).
template <class Transport>
asio::awaitable<mode_result> run_idle(Transport& t, client_options const& o, error_log& errs);

}  // namespace smux_bench

#endif
