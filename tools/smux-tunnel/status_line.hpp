#ifndef SMUX_TOOLS_TUNNEL_STATUS_LINE_HPP
#define SMUX_TOOLS_TUNNEL_STATUS_LINE_HPP

// The periodic status line (--status-interval): what a role carries now and how fast, one
// log line every N seconds.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "logger.hpp"
#include "transport.hpp"

namespace smux_tunnel {

/// A role's figures at one moment.
struct status_sample {
    std::size_t sessions = 0;           ///< open now
    std::size_t streams = 0;            ///< forwarded connections now
    std::uint64_t sent = 0;             ///< bytes so far, local sockets -> streams
    std::uint64_t received = 0;         ///< bytes so far, streams -> local sockets
    std::optional<link_counters> link;  ///< KCP's repairs so far; none on TCP and TLS
};

/** "status: sessions 1, streams 3, sent 1.5 MiB (120.0 KiB/s), received 64.0 MiB
    (5.2 MiB/s), retransmits 412, fec recovered 37": `now`, with the rates since `before`,
    `seconds` earlier. */
[[nodiscard]] std::string format_status(status_sample const& now, status_sample const& before,
                                        double seconds);

/// Logs `format_status` of `sample()` every `interval` (none when it is zero) until stopped.
class status_reporter {
  public:
    status_reporter(asio::any_io_executor ex, std::chrono::seconds interval,
                    std::function<status_sample()> sample, logger& log);

    /// Starts the line's timer (nothing when the interval is zero).
    void start();
    void stop();

  private:
    asio::awaitable<void> run();

    std::chrono::seconds interval_;
    std::function<status_sample()> sample_;
    logger& log_;
    asio::steady_timer timer_;
    bool stopped_ = false;
};

}  // namespace smux_tunnel

#endif
