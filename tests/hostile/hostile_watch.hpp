#ifndef SMUX_TESTS_HOSTILE_HOSTILE_WATCH_HPP
#define SMUX_TESTS_HOSTILE_HOSTILE_WATCH_HPP

// Watching a hostile test: its build-dependent time limits, its watchdog, an event loop run
// that fails early when nothing progresses, and the `run` that every hostile fixture shares.

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "support/asio_harness.hpp"

namespace smux_hostile {

using namespace smux_test;
using tcp = asio::ip::tcp;

#ifdef SMUX_HOSTILE_SANITIZED
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

#ifdef NDEBUG
inline constexpr bool optimized = true;
#else
inline constexpr bool optimized = false;
#endif
/// Sanitizers and unoptimized builds run several times slower: every watchdog scales with this.
inline constexpr bool slow_build = sanitized || !optimized;

/// A test fails (instead of hanging) when it has not finished after this long.
inline constexpr clock::duration test_limit = slow_build ? 150s : 40s;

/** The keep-alive of tests that need a silent peer timed out: short, yet a live peer (the
    well-behaved client sends a NOP every 50 ms) survives a stall of the test machine of most
    of a timeout. The exact timing of the rule (one to two timeouts after the last frame) is
    tested with a fake clock in tests/core; these tests assert only its lower bound. */
inline constexpr std::chrono::milliseconds short_keepalive_interval{100};
inline constexpr std::chrono::milliseconds short_keepalive_timeout{slow_build ? 2000 : 1000};

inline constexpr std::int64_t KiB = 1024;
inline constexpr std::int64_t MiB = 1024 * KiB;

/// The deadline of one test; every wait takes what is left of it.
class watchdog {
  public:
    explicit watchdog(clock::duration limit = test_limit) : deadline_(clock::now() + limit) {}
    [[nodiscard]] clock::duration remaining() const {
        auto const left = deadline_ - clock::now();
        return left > clock::duration::zero() ? left : clock::duration::zero();
    }

  private:
    clock::time_point deadline_;
};

/// A wait fails as stalled when its progress measure has not changed for this long (the
/// keep-alive interval of a default config is 10 s: a stall must show before a NOP hides it).
inline constexpr clock::duration stall_limit = slow_build ? 20s : 5s;

/** Runs `ioc` until `done()` holds, like run_until, but fails early when `progress()` (any
    comparable measure, e.g. bytes or frames moved) stays unchanged for `stall`. */
template <class Pred, class Progress>
::testing::AssertionResult run_with_progress(asio::io_context& ioc, Pred&& done,
                                             Progress&& progress, clock::duration stall,
                                             clock::duration limit) {
    auto last = progress();
    auto changed = clock::now();
    bool stalled = false;
    // A tick every 100 ms re-evaluates the measure even when the loop has nothing else to do.
    auto tick = std::make_shared<asio::steady_timer>(ioc);
    auto stop = std::make_shared<bool>(false);
    std::function<void()> arm = [tick, stop, &arm] {
        tick->expires_after(100ms);
        tick->async_wait([tick, stop, &arm](smux::error_code ec) {
            if (!ec && !*stop) {
                arm();
            }
        });
    };
    arm();
    struct disarm {
        std::shared_ptr<asio::steady_timer> t;
        std::shared_ptr<bool> s;
        ~disarm() {
            *s = true;
            t->cancel();
        }
    } const guard{tick, stop};
    auto r = run_until(
        ioc,
        [&] {
            if (done()) {
                return true;
            }
            auto const now = clock::now();
            if (auto p = progress(); p != last) {
                last = p;
                changed = now;
            }
            stalled = now - changed >= stall;
            return stalled;
        },
        limit);
    if (r && stalled) {
        return ::testing::AssertionFailure()
               << "stalled: no progress for "
               << std::chrono::duration_cast<std::chrono::milliseconds>(stall).count() << " ms";
    }
    return r;
}

inline std::int64_t ms_since(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count();
}

/** The `run` of every hostile fixture: runs the event loop until `done` holds, within the
    test's watchdog; with a `progress` measure (what the peer sees) it fails early when neither
    that nor the target's own work (`own_progress`) changes for `stall`. After every loop step
    the fixture samples its target (`sample`); a failure names what was awaited and carries the
    fixture's `report` of the state. */
class watched_loop {
  public:
    watched_loop() = default;
    watched_loop(watched_loop const&) = delete;
    watched_loop& operator=(watched_loop const&) = delete;
    virtual ~watched_loop() = default;

    /// Runs the event loop until `done` holds, within the test's watchdog.
    template <class Pred>
    ::testing::AssertionResult run(Pred&& done, std::string const& what) {
        return run(
            std::forward<Pred>(done), [] { return 0; }, what, wd_.remaining());
    }

    /// The same, and fails early when neither `progress()` nor own_progress() changes for
    /// `stall`: a target that is slow but busy is not taken for a stalled one.
    template <class Pred, class Progress>
    ::testing::AssertionResult run(Pred&& done, Progress&& progress, std::string const& what,
                                   clock::duration stall = stall_limit) {
        auto r = run_with_progress(
            loop(),
            [&] {
                sample();
                return done();
            },
            [&] { return std::pair(progress(), own_progress()); }, stall, wd_.remaining());
        if (!r) {
            r << " (waiting for: " << what << ")";
            report(r);
        }
        return r;
    }

  protected:
    virtual asio::io_context& loop() = 0;
    /// Records the target's counters (called after every event-loop step).
    virtual void sample() {}
    /// The target's own work so far (frames, streams, memory): it changes while it is busy.
    [[nodiscard]] virtual std::uint64_t own_progress() const = 0;
    /// Appends the state of the attack and the target to a failure.
    virtual void report(::testing::AssertionResult& r) const = 0;

    watchdog wd_;
};

}  // namespace smux_hostile

#endif
