#ifndef SMUX_SRC_CORE_KEEPALIVE_SCHEDULE_HPP
#define SMUX_SRC_CORE_KEEPALIVE_SCHEDULE_HPP

#include <algorithm>
#include <cstdint>

#include "smux/core/session.hpp"

namespace smux::core::detail {

/** Go's two fixed keep-alive tickers: a NOP every interval, a liveness check every timeout
    that needs a frame seen since the previous check. Missed ticks are skipped, not
    replayed. */
class keepalive_schedule {
  public:
    keepalive_schedule(time_point now, clock::duration interval, clock::duration timeout) noexcept
        : interval_(interval),
          timeout_(timeout),
          next_ping_(now + interval),
          next_check_(now + timeout) {}

    /// A frame arrived from the peer.
    void frame_seen() noexcept { frame_seen_ = true; }

    /// True when a NOP is due at `now` (the ticker then moves past `now`).
    bool ping_due(time_point now) noexcept { return tick(next_ping_, interval_, now); }

    enum class check_outcome : std::uint8_t {
        not_due,
        peer_heard,   ///< a frame arrived since the previous check
        peer_silent,  ///< no frame since the previous check
    };

    /// Runs the liveness check if it is due at `now` (the ticker then moves past `now` and
    /// the next check starts counting afresh).
    check_outcome check(time_point now) noexcept {
        if (!tick(next_check_, timeout_, now)) {
            return check_outcome::not_due;
        }
        bool const heard = frame_seen_;
        frame_seen_ = false;
        return heard ? check_outcome::peer_heard : check_outcome::peer_silent;
    }

    [[nodiscard]] time_point next() const noexcept { return std::min(next_ping_, next_check_); }

  private:
    static bool tick(time_point& next, clock::duration period, time_point now) noexcept {
        if (now < next) {
            return false;
        }
        while (next <= now) {
            next += period;
        }
        return true;
    }

    clock::duration interval_;
    clock::duration timeout_;
    time_point next_ping_;
    time_point next_check_;
    bool frame_seen_ = false;
};

}  // namespace smux::core::detail

#endif
