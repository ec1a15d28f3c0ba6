#ifndef SMUX_TOOLS_TUNNEL_SESSION_POOL_HPP
#define SMUX_TOOLS_TUNNEL_SESSION_POOL_HPP

// The client's sessions, as kcptun's: --conn slots picked round-robin per connection, a slot
// redialed when its session ended, --autoexpire replacing old sessions and the scavenger
// closing them --scavengettl later. Beyond kcptun: a session that never heard from the
// server delays the next dial of its slot (1, 2, 4 ... 30 s).

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "logger.hpp"
#include "options.hpp"
#include "transport.hpp"

namespace smux_tunnel {

class session_pool {
  public:
    session_pool(asio::any_io_executor ex, dialer& d, tunnel_options const& o, logger& log);

    /// The session for the next connection, dialed if its slot has none; null once stopped.
    [[nodiscard]] asio::awaitable<std::shared_ptr<mux_session>> pick();

    /// Closes every session and wakes every waiting `pick` (which then returns null).
    void stop();

    /// Sessions open now (expired ones still carrying streams included).
    [[nodiscard]] std::size_t open_sessions() const;

    /// The carriers' repairs, over every session so far.
    [[nodiscard]] link_counters links();

  private:
    using clock = std::chrono::steady_clock;

    struct slot {
        explicit slot(asio::any_io_executor const& ex) : ready(ex), backoff(ex) {
            ready.expires_at(clock::time_point::max());
        }
        std::shared_ptr<mux_session> session;
        clock::time_point expiry;
        bool dialing = false;
        int failures = 0;            ///< sessions in a row that never heard from the server
        asio::steady_timer ready;    ///< never expires: cancel() wakes who waits for a dial
        asio::steady_timer backoff;  ///< the pause before a redial after failures
    };

    [[nodiscard]] bool usable(slot const& s) const;
    asio::awaitable<void> redial(slot& s);
    asio::awaitable<void> watch(std::shared_ptr<mux_session> session, slot& s);
    void retire(std::shared_ptr<mux_session> session, clock::time_point expiry);
    asio::awaitable<void> scavenge();

    asio::any_io_executor ex_;
    dialer& dialer_;
    logger& log_;
    std::chrono::seconds autoexpire_;
    std::chrono::seconds scavenge_ttl_;
    std::vector<slot> slots_;
    std::uint16_t rr_ = 0;  ///< kcptun's round-robin counter (uint16)
    std::set<std::shared_ptr<mux_session>> live_;
    link_counters ended_links_;  ///< of the sessions no longer in live_
    std::vector<std::pair<std::shared_ptr<mux_session>, clock::time_point>> expired_;
    asio::steady_timer scavenger_;
    bool scavenging_ = false;
    bool stopped_ = false;
};

}  // namespace smux_tunnel

#endif
