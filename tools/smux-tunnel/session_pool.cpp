#include "session_pool.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "spawn.hpp"

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// The pause before the next dial after `failures` silent sessions in a row: 1, 2, 4, 8,
/// 16, then 30 s.
std::chrono::seconds backoff_after(int failures) {
    if (failures <= 0) {
        return std::chrono::seconds(0);
    }
    return std::chrono::seconds(std::min(1 << std::min(failures - 1, 5), 30));
}

}  // namespace

session_pool::session_pool(asio::any_io_executor ex, dialer& d, tunnel_options const& o,
                           logger& log)
    : ex_(std::move(ex)),
      dialer_(d),
      log_(log),
      autoexpire_(o.autoexpire),
      scavenge_ttl_(o.scavengettl),
      scavenger_(ex_) {
    slots_.reserve(static_cast<std::size_t>(o.conn));
    for (int i = 0; i < o.conn; ++i) {
        slots_.emplace_back(ex_);
    }
}

bool session_pool::usable(slot const& s) const {
    bool const expired = autoexpire_.count() > 0 && clock::now() > s.expiry;
    return s.session && s.session->is_open() && !expired;
}

asio::awaitable<std::shared_ptr<mux_session>> session_pool::pick() {
    slot& s = slots_[rr_++ % slots_.size()];
    while (!stopped_) {
        if (usable(s)) {
            co_return s.session;
        }
        if (s.dialing) {
            (void)co_await s.ready.async_wait(as_tuple);  // woken by cancel() after the dial
            continue;
        }
        co_await redial(s);
    }
    co_return nullptr;
}

asio::awaitable<void> session_pool::redial(slot& s) {
    s.dialing = true;
    if (s.session && s.session->is_open()) {
        retire(std::move(s.session), s.expiry);  // --autoexpire: its streams may go on
    }
    s.session.reset();
    if (auto const pause = backoff_after(s.failures); pause.count() > 0) {
        log_.info("re-connecting in " + std::to_string(pause.count()) + " s");
        s.backoff.expires_after(pause);
        (void)co_await s.backoff.async_wait(as_tuple);
    }
    if (!stopped_) {
        auto result = co_await dialer_.dial();
        if (result.session && !stopped_) {
            s.session = result.session;
            s.expiry = clock::now() + autoexpire_;
            live_.insert(result.session);
            spawn_logged(ex_, watch(std::move(result.session), s), log_, "session");
        } else if (!result.session) {
            log_.error("re-connecting: " + result.failure);
            ++s.failures;
        }
    }
    s.dialing = false;
    s.ready.cancel();
}

asio::awaitable<void> session_pool::watch(std::shared_ptr<mux_session> session, slot& s) {
    session_end const end = co_await session->supervise();
    std::string const line = "session " + session->name() + " ended: " + end.reason;
    if (end.closed_here) {
        log_.info(line);
    } else if (end.heard_from_peer) {
        log_.warn(line);
    } else {
        log_.error(line);  // the server never answered
    }
    if (s.session == session && !end.closed_here) {
        s.failures = end.heard_from_peer ? 0 : s.failures + 1;
    }
    ended_links_ += session->link();
    live_.erase(session);
}

std::size_t session_pool::open_sessions() const {
    return static_cast<std::size_t>(std::count_if(
        live_.begin(), live_.end(), [](auto const& session) { return session->is_open(); }));
}

link_counters session_pool::links() {
    link_counters total = ended_links_;
    for (auto const& session : live_) {
        total += session->link();
    }
    return total;
}

void session_pool::retire(std::shared_ptr<mux_session> session, clock::time_point expiry) {
    expired_.emplace_back(std::move(session), expiry + scavenge_ttl_);
    if (!scavenging_) {
        scavenging_ = true;
        spawn_logged(ex_, scavenge(), log_, "scavenger");
    }
}

/// kcptun's scavenger: once a second, forgets the expired sessions that closed and closes
/// those past their time to live.
asio::awaitable<void> session_pool::scavenge() {
    while (!expired_.empty() && !stopped_) {
        scavenger_.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await scavenger_.async_wait(as_tuple);
        if (ec || stopped_) {
            break;
        }
        auto const now = clock::now();
        std::erase_if(expired_, [&](auto const& entry) {
            auto const& [session, deadline] = entry;
            if (!session->is_open()) {
                log_.info("scavenger: session normally closed: " + session->name());
                return true;
            }
            if (now > deadline) {
                session->close();
                log_.info("scavenger: session closed due to ttl: " + session->name());
                return true;
            }
            return false;
        });
    }
    scavenging_ = false;
}

void session_pool::stop() {
    stopped_ = true;
    for (auto& s : slots_) {
        s.backoff.cancel();
        s.ready.cancel();
    }
    scavenger_.cancel();
    auto const sessions = live_;  // watch() erases as the sessions end
    for (auto const& session : sessions) {
        session->close();
    }
    for (auto const& entry : expired_) {
        entry.first->close();
    }
    expired_.clear();
}

}  // namespace smux_tunnel
