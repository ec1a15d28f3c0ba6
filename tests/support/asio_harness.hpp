#ifndef SMUX_TESTS_SUPPORT_ASIO_HARNESS_HPP
#define SMUX_TESTS_SUPPORT_ASIO_HARNESS_HPP

// Shared helpers of the front-end tests: a watchdog-bounded event loop, coroutine groups that
// report exceptions as test failures, connected session pairs over socketpairs, loopback TCP
// and the in-memory duplex stream, deterministic payloads and a one-shot event.

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/multiple_exceptions.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <smux/smux.hpp>
#include <smux/test/duplex_stream.hpp>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "support/wire.hpp"

namespace smux_test {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using namespace smux_wire;  // bytes (std::byte), hex and text conversions, raw frames

/// Every test's loop stops (and fails) after this long instead of hanging.
inline constexpr clock::duration watchdog_limit = 20s;
/// Tests that move tens of MiB through sanitizer builds get longer.
inline constexpr clock::duration heavy_watchdog_limit = 120s;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SMUX_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SMUX_TEST_SANITIZED 1
#endif
#endif
#if defined(SMUX_TEST_SANITIZED)
/// Sanitized builds run many times slower: the biggest transfers shrink there.
inline constexpr bool sanitized_build = true;
#else
inline constexpr bool sanitized_build = false;
#endif

inline constexpr std::uint64_t one_mib = 1024 * 1024;

inline constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

using duplex_session = smux::basic_session<smux::test::duplex_stream>;

/// Names the instances of tests parameterised by protocol version: v1, v2.
inline std::string version_name(::testing::TestParamInfo<int> const& info) {
    return "v" + std::to_string(info.param);
}

inline smux::config make_config(int version) {
    smux::config cfg;
    cfg.version = version;
    return cfg;
}

inline smux::config quiet_config(int version) {
    smux::config cfg = make_config(version);
    cfg.keep_alive_disabled = true;
    return cfg;
}

/** Runs `ioc` until `done()` holds. Fails when the watchdog limit passes first, or when the
    loop runs out of work while `done()` is still false (then nothing could ever make it true). */
template <class Pred>
::testing::AssertionResult run_until(asio::io_context& ioc, Pred&& done,
                                     clock::duration limit = watchdog_limit) {
    auto const deadline = clock::now() + limit;
    while (!done()) {
        auto const now = clock::now();
        if (now >= deadline) {
            return ::testing::AssertionFailure()
                   << "watchdog: the condition was not reached within "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(limit).count() << " ms";
        }
        if (ioc.stopped()) {
            ioc.restart();
        }
        if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped() && !done()) {
            return ::testing::AssertionFailure()
                   << "the event loop ran out of work before the condition held";
        }
    }
    return ::testing::AssertionSuccess();
}

/// Runs every handler that is ready now (no waiting).
inline void run_ready(asio::io_context& ioc) {
    if (ioc.stopped()) {
        ioc.restart();
    }
    ioc.poll();
}

inline std::string describe(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (asio::multiple_exceptions const& failure) {
        return "multiple exceptions, the first: " + describe(failure.first_exception());
    } catch (std::system_error const& failure) {
        return std::string("system_error: ") + failure.what() + " [" +
               failure.code().category().name() + ":" + std::to_string(failure.code().value()) +
               "]";
    } catch (std::exception const& failure) {
        return std::string("exception: ") + failure.what();
    } catch (...) {
        return "unknown exception";
    }
}

/** Coroutines started together; an exception escaping one of them is a test failure.
    Safe to use from several threads. */
class task_group {
  public:
    template <class F>
    void spawn(asio::io_context& ioc, F&& f) {
        spawn(asio::any_io_executor(ioc.get_executor()), std::forward<F>(f));
    }

    template <class F>
    void spawn(asio::any_io_executor const& ex, F&& f) {
        pending_.fetch_add(1);
        asio::co_spawn(ex, std::forward<F>(f), [this](std::exception_ptr e) {
            std::lock_guard lock(mutex_);
            if (e) {
                failures_.push_back(describe(e));
            }
            if (pending_.fetch_sub(1) == 1) {
                all_done_.notify_all();
            }
        });
    }

    [[nodiscard]] bool done() const noexcept { return pending_.load() == 0; }
    [[nodiscard]] int pending() const noexcept { return pending_.load(); }

    /// Runs `ioc` until every coroutine finished, then reports their exceptions.
    ::testing::AssertionResult wait(asio::io_context& ioc, clock::duration limit = watchdog_limit) {
        auto r = run_until(
            ioc, [this] { return done(); }, limit);
        if (!r) {
            return r << " (" << pending() << " coroutine(s) still running)" << failure_text();
        }
        return check();
    }

    /// Blocks until every coroutine finished while other threads run the loop, then reports
    /// their exceptions.
    ::testing::AssertionResult wait_blocking(clock::duration limit = watchdog_limit) {
        {
            std::unique_lock lock(mutex_);
            if (!all_done_.wait_for(lock, limit, [this] { return done(); })) {
                return ::testing::AssertionFailure()
                       << "watchdog: " << pending() << " coroutine(s) still running after "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()
                       << " ms";
            }
        }
        return check();
    }

    /// Fails when a finished coroutine threw.
    ::testing::AssertionResult check() {
        std::lock_guard lock(mutex_);
        if (failures_.empty()) {
            return ::testing::AssertionSuccess();
        }
        auto r = ::testing::AssertionFailure() << failures_.size() << " coroutine(s) threw:";
        for (auto const& f : failures_) {
            r << "\n  " << f;
        }
        return r;
    }

  private:
    std::string failure_text() {
        std::lock_guard lock(mutex_);
        std::string out;
        for (auto const& f : failures_) {
            out += "\n  coroutine threw: " + f;
        }
        return out;
    }

    std::atomic<int> pending_{0};
    std::mutex mutex_;
    std::condition_variable all_done_;
    std::vector<std::string> failures_;
};

/// A one-shot event for coroutines of one thread: `wait` returns once `notify` was called.
class event {
  public:
    explicit event(asio::any_io_executor const& ex) : timer_(ex, clock::time_point::max()) {}

    void notify() {
        set_ = true;
        timer_.cancel();
    }

    [[nodiscard]] bool is_set() const noexcept { return set_; }

    asio::awaitable<void> wait() {
        while (!set_) {
            co_await timer_.async_wait(as_tuple_awaitable);
        }
    }

  private:
    asio::steady_timer timer_;
    bool set_ = false;
};

/// Records the arguments of one completion, and whether it ran.
template <class... Args>
struct capture {
    bool done = false;
    int calls = 0;
    std::tuple<Args...> args{};

    auto handler() {
        return [this](Args... a) {
            ++calls;
            done = true;
            args = std::tuple<Args...>(std::move(a)...);
        };
    }
    [[nodiscard]] auto ready() const {
        return [this] { return done; };
    }
    template <std::size_t I>
    auto& get() {
        return std::get<I>(args);
    }
};

/// Writes all of `text` on `st` and checks that it went.
inline void write_text(asio::io_context& ioc, smux::stream& st, std::string const& text) {
    capture<smux::error_code, std::size_t> w;
    asio::async_write(st, asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    ASSERT_FALSE(w.get<0>()) << w.get<0>().message();
}

// ---- connected session pairs

template <class NextLayer>
struct session_pair {
    smux::basic_session<NextLayer> client;
    smux::basic_session<NextLayer> server;
};

/// Two sessions over a Unix socketpair.
inline session_pair<asio::local::stream_protocol::socket> make_local_pair(
    asio::io_context& ioc, smux::config const& client_cfg, smux::config const& server_cfg) {
    asio::local::stream_protocol::socket a(ioc);
    asio::local::stream_protocol::socket b(ioc);
    asio::local::connect_pair(a, b);
    return {smux::local_session(smux::role::client, std::move(a), client_cfg),
            smux::local_session(smux::role::server, std::move(b), server_cfg)};
}

inline session_pair<asio::local::stream_protocol::socket> make_local_pair(asio::io_context& ioc,
                                                                          smux::config const& cfg) {
    return make_local_pair(ioc, cfg, cfg);
}

/// Two connected TCP sockets on 127.0.0.1 (an ephemeral port).
inline std::pair<asio::ip::tcp::socket, asio::ip::tcp::socket> make_tcp_sockets(
    asio::io_context& ioc) {
    asio::ip::tcp::acceptor acceptor(
        ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::ip::tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    asio::ip::tcp::socket server = acceptor.accept();
    client.set_option(asio::ip::tcp::no_delay(true));
    server.set_option(asio::ip::tcp::no_delay(true));
    return {std::move(client), std::move(server)};
}

/// Two sessions over loopback TCP.
inline session_pair<asio::ip::tcp::socket> make_tcp_pair(asio::io_context& ioc,
                                                         smux::config const& cfg) {
    auto [c, s] = make_tcp_sockets(ioc);
    return {smux::tcp_session(smux::role::client, std::move(c), cfg),
            smux::tcp_session(smux::role::server, std::move(s), cfg)};
}

/// Two sessions over the in-memory duplex stream; each end reads and writes at most the
/// given number of bytes per operation (0: unlimited).
inline session_pair<smux::test::duplex_stream> make_duplex_pair(asio::io_context& ioc,
                                                                smux::config const& cfg,
                                                                std::size_t read_size = 0,
                                                                std::size_t write_size = 0) {
    auto [a, b] = smux::test::duplex_stream::make_pair(ioc.get_executor());
    for (auto* end : {&a, &b}) {
        if (read_size != 0) {
            end->set_read_size(read_size);
        }
        if (write_size != 0) {
            end->set_write_size(write_size);
        }
    }
    return {duplex_session(smux::role::client, std::move(a), cfg),
            duplex_session(smux::role::server, std::move(b), cfg)};
}

/** Closes both sessions and runs the loop until both ended and nothing is ready any more, so
    that no transport operation is left holding a session when the test ends. */
template <class NextLayer>
::testing::AssertionResult close_and_drain(asio::io_context& ioc, session_pair<NextLayer>& p) {
    p.client.close();
    p.server.close();
    auto r = run_until(ioc, [&] { return !p.client.is_open() && !p.server.is_open(); });
    run_ready(ioc);
    return r;
}

/// Opens a stream on `opener` and accepts it on `acceptor`.
template <class NextLayer>
asio::awaitable<std::pair<smux::stream, smux::stream>> open_pair(
    smux::basic_session<NextLayer>& opener, smux::basic_session<NextLayer>& acceptor) {
    smux::stream a = co_await opener.async_open_stream(asio::use_awaitable);
    smux::stream b = co_await acceptor.async_accept_stream(asio::use_awaitable);
    co_return std::pair<smux::stream, smux::stream>(std::move(a), std::move(b));
}

/// Callback-driven variant for step-by-step tests: runs `ioc` until both ends exist.
template <class NextLayer>
std::optional<std::pair<smux::stream, smux::stream>> open_pair_now(
    asio::io_context& ioc, smux::basic_session<NextLayer>& opener,
    smux::basic_session<NextLayer>& acceptor) {
    capture<smux::error_code, smux::stream> opened;
    capture<smux::error_code, smux::stream> accepted;
    opener.async_open_stream(opened.handler());
    acceptor.async_accept_stream(accepted.handler());
    auto r = run_until(ioc, [&] { return opened.done && accepted.done; });
    EXPECT_TRUE(r);
    EXPECT_FALSE(opened.get<0>()) << opened.get<0>().message();
    EXPECT_FALSE(accepted.get<0>()) << accepted.get<0>().message();
    if (!r || opened.get<0>() || accepted.get<0>()) {
        return std::nullopt;
    }
    return std::pair<smux::stream, smux::stream>(std::move(opened.get<1>()),
                                                 std::move(accepted.get<1>()));
}

/** Fixture of tests that start from one open stream: an event loop, two sessions over a
    socketpair and the stream's two ends, `c` the client's and `s` the server's. `Base` is
    ::testing::Test or a ::testing::TestWithParam. Tests of a suite that use it must not
    declare locals named `ioc`, `c` or `s` (-Wshadow), also not inside lambdas. */
template <class Base = ::testing::Test>
class stream_pair_test : public Base {
  protected:
    /// Makes the sessions and opens one stream from the client to the server (once a test).
    ::testing::AssertionResult open(smux::config const& client_cfg,
                                    smux::config const& server_cfg) {
        sessions_.emplace(make_local_pair(ioc, client_cfg, server_cfg));
        auto pair = open_pair_now(ioc, sessions_->client, sessions_->server);
        if (!pair) {
            return ::testing::AssertionFailure() << "the stream did not open";
        }
        c = std::move(pair->first);
        s = std::move(pair->second);
        return ::testing::AssertionSuccess();
    }
    ::testing::AssertionResult open(smux::config const& cfg) { return open(cfg, cfg); }

    /// The sessions made by `open` (throws std::bad_optional_access before it).
    smux::local_session& client() { return sessions_.value().client; }
    smux::local_session& server() { return sessions_.value().server; }

    // Declared in this order so that, as with locals in a test body, the streams are destroyed
    // first, then the sessions, and the event loop last.
    asio::io_context ioc;
    std::optional<session_pair<asio::local::stream_protocol::socket>> sessions_;  ///< by `open`
    smux::stream c;
    smux::stream s;
};

/// Runs `fn` on the stream's strand (where the synchronous calls are allowed) and waits for it.
template <class Fn>
void on_strand(asio::io_context& ioc, smux::stream& st, Fn&& fn) {
    bool ran = false;
    asio::dispatch(st.get_executor(), [&] {
        fn();
        ran = true;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return ran; }));
}

/// The stream's counters, read on its strand.
inline smux::stream_stats stats_now(asio::io_context& ioc, smux::stream& st) {
    smux::stream_stats out;
    on_strand(ioc, st, [&] {
        smux::error_code ec;
        out = st.stats(ec);
        EXPECT_FALSE(ec) << ec.message();
    });
    return out;
}

/// Waits until everything posted to the session's strand before this call has run.
inline asio::awaitable<void> strand_barrier(asio::any_io_executor const& strand) {
    co_await asio::post(strand, asio::use_awaitable);
}

// ---- payloads

inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

/// An endless deterministic byte sequence; `fill` gives the same bytes however it is cut.
class pattern {
  public:
    explicit pattern(std::uint64_t seed) noexcept : seed_(seed) {}

    void fill(std::uint64_t position, std::span<std::byte> out) const noexcept {
        for (std::size_t i = 0; i < out.size();) {
            std::uint64_t const pos = position + i;
            std::uint64_t const word = splitmix64(seed_ ^ (pos / 8) * 0x2545f4914f6cdd1dULL);
            for (std::uint64_t k = pos % 8; k < 8 && i < out.size(); ++k, ++i) {
                out[i] = static_cast<std::byte>(word >> (8 * k));
            }
        }
    }

    [[nodiscard]] bytes make(std::uint64_t position, std::size_t n) const {
        bytes out(n);
        fill(position, out);
        return out;
    }

  private:
    std::uint64_t seed_;
};

inline bytes random_bytes(std::size_t n, std::uint64_t seed) {
    return pattern(seed).make(0, n);
}

inline std::uint64_t fnv1a(std::uint64_t h, std::span<std::byte const> data) noexcept {
    for (std::byte b : data) {
        h ^= std::to_integer<std::uint64_t>(b);
        h *= 0x100000001b3ULL;
    }
    return h;
}
inline constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;

/// Index of the first differing byte, or -1 when equal (sizes included).
inline long long first_difference(bytes const& a, bytes const& b) {
    std::size_t const n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) {
            return static_cast<long long>(i);
        }
    }
    return a.size() == b.size() ? -1 : static_cast<long long>(n);
}

/// Reads until end of file or an error; returns that error (eof on a clean end) and the bytes.
inline asio::awaitable<std::pair<smux::error_code, bytes>> read_to_end(smux::stream& s,
                                                                       std::size_t chunk = 65536) {
    bytes got;
    bytes buf(chunk);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (ec) {
            co_return std::pair<smux::error_code, bytes>(ec, std::move(got));
        }
    }
}

/// Reads exactly `n` bytes (asio::async_read); returns the error and the bytes read.
inline asio::awaitable<std::pair<smux::error_code, bytes>> read_exactly(smux::stream& s,
                                                                        std::size_t n) {
    bytes got(n);
    auto [ec, k] = co_await asio::async_read(s, asio::buffer(got), as_tuple_awaitable);
    got.resize(k);
    co_return std::pair<smux::error_code, bytes>(ec, std::move(got));
}

/// Echoes everything until end of file, then half-closes. Returns the bytes echoed.
inline asio::awaitable<std::size_t> echo_until_eof(smux::stream& s) {
    std::size_t total = 0;
    bytes buf(32 * 1024);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        if (n > 0) {
            co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
            total += n;
        }
        if (ec == asio::error::eof) {
            break;
        }
        if (ec) {
            throw std::system_error(ec, "echo read");
        }
    }
    s.shutdown_send();
    co_return total;
}

}  // namespace smux_test

#endif
