// Concurrency stress: session pairs over socketpairs and loopback TCP on an io_context run by
// four threads (each session on its own strand), used by "user" threads that each run their
// own io_context, and by coroutines on strands of the session context. Every stream is owned
// by one coroutine at a time (handles are never shared between threads at once), but the
// streams of one session are used from several threads at the same time, and every
// initiating function runs on a thread that is not running the session's strand.
//
// Streams carry seeded random work (echo, upload, download, closing while a write is in
// flight, closing while the peer still sends, reads cancelled while idle), with reads and
// writes cancelled at random through cancellation slots (every cancellation type, at once or
// after a timer) and through stream::cancel. Every byte is checked against the pattern it
// was generated from; a cancelled operation loses nothing (the next one continues from the
// count it reported).
//
//   - stress.many_streams_many_threads: everything must succeed; then the sessions are shut
//     down (gracefully or abortively) from the main thread;
//   - stress.sessions_closed_under_load: sessions are closed abortively from worker threads
//     while streams are in flight; every pending operation must still complete, with a
//     session error, and what was read must be a prefix of what was sent.
//
// Both end with stats().streams_open == 0 everywhere and every coroutine released. Each test
// runs rounds (fresh sessions, seed + round) until its time budget is spent: a few seconds in
// an optimised build, more under sanitizers. The seed is printed; SMUX_STRESS_SEED=<n>
// changes it (the choices also depend on how reads are cut, so thread timing still varies
// them).

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/asio_harness.hpp"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SMUX_STRESS_INSTRUMENTED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SMUX_STRESS_INSTRUMENTED 1
#endif
#endif

namespace {

using namespace smux_test;
using smux::error_code;
using rng = std::mt19937_64;

#if defined(SMUX_STRESS_INSTRUMENTED) || !defined(NDEBUG)
constexpr bool slow_build = true;
#else
constexpr bool slow_build = false;
#endif

struct stress_shape {
    int local_pairs = 4;
    int tcp_pairs = 4;
    int io_threads = 4;
    int user_threads = 4;
    int workers_per_user = 6;  ///< coroutines per user thread, each a sequence of streams
    int strand_workers = 4;    ///< coroutines on strands of the session context
    int streams_per_worker = slow_build ? 16 : 40;
    std::size_t size_scale_divisor = slow_build ? 4 : 1;
};

std::uint64_t base_seed() {
    if (char const* env = std::getenv("SMUX_STRESS_SEED")) {
        return std::strtoull(env, nullptr, 0);
    }
    return 0x5eed5eedULL;
}

[[noreturn]] void fail(std::string const& what) {
    throw std::runtime_error(what);
}

// ---- sessions behind one interface (local and TCP sessions have different types)

class any_session {
  public:
    virtual ~any_session() = default;
    virtual asio::awaitable<std::tuple<error_code, smux::stream>> open() = 0;
    virtual asio::awaitable<std::tuple<error_code, smux::stream>> accept(
        asio::cancellation_slot slot) = 0;
    virtual void wait_closed(std::function<void(error_code)> h) = 0;
    virtual void shutdown(std::function<void(error_code)> h) = 0;
    virtual void close() = 0;
    [[nodiscard]] virtual smux::session_stats stats() const = 0;
    [[nodiscard]] virtual asio::any_io_executor executor() const = 0;
};

template <class NextLayer>
class session_box final : public any_session {
  public:
    explicit session_box(smux::basic_session<NextLayer> s) : s_(std::move(s)) {}

    asio::awaitable<std::tuple<error_code, smux::stream>> open() override {
        co_return co_await s_.async_open_stream(as_tuple_awaitable);
    }
    asio::awaitable<std::tuple<error_code, smux::stream>> accept(
        asio::cancellation_slot slot) override {
        co_return co_await s_.async_accept_stream(
            asio::bind_cancellation_slot(slot, as_tuple_awaitable));
    }
    void wait_closed(std::function<void(error_code)> h) override {
        s_.async_wait_closed(std::move(h));
    }
    void shutdown(std::function<void(error_code)> h) override { s_.async_shutdown(std::move(h)); }
    void close() override { s_.close(); }
    [[nodiscard]] smux::session_stats stats() const override { return s_.stats(); }
    [[nodiscard]] asio::any_io_executor executor() const override { return s_.get_executor(); }

  private:
    smux::basic_session<NextLayer> s_;
};

struct session_pair_state {
    int index = 0;
    int version = 1;
    bool tcp = false;
    std::array<std::unique_ptr<any_session>, 2> ends;  ///< client, server
    std::atomic<int> completed_streams{0};
    int kill_after = -1;  ///< sessions_closed_under_load: completed streams before the close
    std::atomic<bool> killed{false};
    std::array<std::atomic<bool>, 2> ended{};
    std::array<error_code, 2> end_error;  ///< written before `ended` is set
};

smux::config pair_config(int index) {
    static constexpr std::array<std::int64_t, 4> frame_sizes{32768, 4096, 1500, 65535};
    static constexpr std::array<std::int64_t, 4> stream_buffers{65536, 16384, 262144, 32768};
    smux::config cfg;
    cfg.version = 1 + index % 2;
    cfg.max_frame_size = frame_sizes[static_cast<std::size_t>(index) % 4];
    cfg.max_stream_buffer = stream_buffers[static_cast<std::size_t>(index / 2) % 4];
    // Keep-alive frames interleave with the data; the timeout never fires in a test.
    cfg.keep_alive_interval = std::chrono::milliseconds(25);
    cfg.keep_alive_timeout = std::chrono::milliseconds(120'000);
    return cfg;
}

// ---- the work on one stream

enum class mode : std::uint8_t {
    echo,         ///< opener sends, responder echoes, both half-close
    upload,       ///< opener sends, responder verifies and replies with the count
    download,     ///< responder sends, opener verifies
    close_write,  ///< opener closes while its last write may be in flight
    close_read,   ///< opener closes after part of what the responder sends
    idle_cancel,  ///< opener cancels reads on an idle stream, then downloads
    count
};

constexpr std::size_t header_size = 32;

struct header {
    mode m = mode::echo;
    std::uint64_t seed = 0;
    std::uint64_t len = 0;
    std::uint64_t part = 0;
};

std::array<std::uint8_t, header_size> encode(header const& h) {
    std::array<std::uint8_t, header_size> out{};
    out[0] = static_cast<std::uint8_t>(h.m);
    auto put = [&](std::size_t at, std::uint64_t v) {
        for (std::size_t i = 0; i < 8; ++i) {
            out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
        }
    };
    put(8, h.seed);
    put(16, h.len);
    put(24, h.part);
    return out;
}

header decode(std::array<std::uint8_t, header_size> const& in) {
    auto get = [&](std::size_t at) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            v |= static_cast<std::uint64_t>(in[at + i]) << (8 * i);
        }
        return v;
    };
    if (in[0] >= static_cast<std::uint8_t>(mode::count)) {
        fail("bad header mode " + std::to_string(in[0]));
    }
    return {static_cast<mode>(in[0]), get(8), get(16), get(24)};
}

/// What both sides of a close_write / close_read stream saw, compared once both finished.
struct close_record {
    bool opener_done = false;
    bool opener_clean = false;  ///< no session error on the opener's side
    std::uint64_t sent = 0;     ///< bytes the opener's writes reported
    bool responder_done = false;
    bool responder_eof = false;
    std::uint64_t received = 0;
};

/** Streams opened by workers and streams accepted by acceptors. A worker may finish its
    stream (a close_write opener does not wait for its peer) before the peer's acceptor even
    has it, so "every responder finished" means something only once every opened stream was
    accepted and its responder spawned. Without kills every opened stream is accepted. */
class accept_tally {
  public:
    void opened() {
        std::lock_guard lock(mutex_);
        ++opened_;
    }
    /// Call after spawning the stream's responder.
    void accepted() {
        std::lock_guard lock(mutex_);
        ++accepted_;
        changed_.notify_all();
    }
    ::testing::AssertionResult wait_all_accepted(clock::duration limit) {
        std::unique_lock lock(mutex_);
        if (changed_.wait_for(lock, limit, [this] { return accepted_ >= opened_; })) {
            return ::testing::AssertionSuccess();
        }
        return ::testing::AssertionFailure()
               << "watchdog: " << accepted_ << " of " << opened_ << " opened streams were accepted";
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t opened_ = 0;
    std::uint64_t accepted_ = 0;
};

/// Shared state of one stress run.
struct stress_run {
    bool kill_mode = false;
    std::vector<std::unique_ptr<asio::io_context>> users;
    std::vector<std::unique_ptr<session_pair_state>> pairs;  ///< destroyed before `users`
    task_group workers;
    task_group responders;
    task_group acceptors;
    accept_tally tally;
    std::atomic<std::uint64_t> bytes_verified{0};
    std::atomic<std::uint64_t> streams_done{0};
    std::atomic<std::uint64_t> cancels_issued{0};
    std::atomic<std::uint64_t> aborted_ops{0};
    std::atomic<std::uint64_t> session_errors{0};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(mode::count)> modes{};
    std::mutex close_mutex;
    std::map<std::uint64_t, close_record> closes;
    std::atomic<std::uint64_t> next_user{0};

    close_record& record(std::uint64_t key) { return closes[key]; }
};

std::uint64_t close_key(int pair, smux::core::stream_id id) {
    return (static_cast<std::uint64_t>(pair) << 32U) | id;
}

/// Errors an operation may end with once its session (or the peer's) was closed.
bool session_error(error_code ec) {
    return ec == smux::error::session_closed || ec == smux::error::connection_closed ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == smux::condition::session_terminated;
}

/// An error other than eof and our own cancellations: fatal in the plain stress test, a
/// session error in the kill test.
void check_error(stress_run& run, error_code ec, char const* what) {
    if (!ec) {
        return;
    }
    if (run.kill_mode && session_error(ec)) {
        run.session_errors.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    fail(std::string(what) + " failed: " + ec.message() + " [" + ec.category().name() + ":" +
         std::to_string(ec.value()) + "]");
}

std::size_t random_chunk(rng& r, std::size_t max) {
    switch (r() % 4) {
        case 0:
            return 1 + r() % std::min<std::size_t>(max, 64);
        case 1:
            return 1 + r() % std::min<std::size_t>(max, 4096);
        default:
            return 1 + r() % std::min<std::size_t>(max, 65536 + 1000);
    }
}

enum class cancel_how { none, slot_at_once, slot_after_timer, stream_cancel };

asio::cancellation_type random_type(rng& r) {
    static constexpr std::array<asio::cancellation_type, 3> types{asio::cancellation_type::terminal,
                                                                  asio::cancellation_type::partial,
                                                                  asio::cancellation_type::total};
    return types[r() % types.size()];
}

/** Runs one stream operation (`initiate(token)`), cancelling it as `how` says: the signal
    is emitted by a handler queued on this coroutine's executor (the thread that owns the
    stream), so emission never races with the operation's own use of the slot. */
template <class Initiate>
asio::awaitable<std::tuple<error_code, std::size_t>> run_op(stress_run& run, smux::stream& s,
                                                            rng& r, cancel_how how,
                                                            Initiate initiate) {
    if (how == cancel_how::none) {
        co_return co_await initiate(as_tuple_awaitable);
    }
    run.cancels_issued.fetch_add(1, std::memory_order_relaxed);
    auto ex = co_await asio::this_coro::executor;
    auto signal = std::make_shared<asio::cancellation_signal>();
    auto const type = random_type(r);
    std::shared_ptr<asio::steady_timer> timer;
    switch (how) {
        case cancel_how::slot_at_once:
            asio::post(ex, [signal, type] { signal->emit(type); });
            break;
        case cancel_how::slot_after_timer:
            timer = std::make_shared<asio::steady_timer>(ex, std::chrono::microseconds(r() % 400));
            timer->async_wait([signal, type](error_code ec) {
                if (!ec) {
                    signal->emit(type);
                }
            });
            break;
        case cancel_how::stream_cancel:
            // Queued before the operation's completion can be: `s` is still alive then.
            asio::post(ex, [&s] { s.cancel(); });
            break;
        case cancel_how::none:
            break;
    }
    auto result =
        co_await initiate(asio::bind_cancellation_slot(signal->slot(), as_tuple_awaitable));
    if (timer) {
        timer->cancel();
    }
    if (std::get<0>(result) == asio::error::operation_aborted) {
        run.aborted_ops.fetch_add(1, std::memory_order_relaxed);
    }
    co_return result;
}

cancel_how random_cancel(rng& r, bool enabled) {
    if (!enabled || r() % 6 != 0) {
        return cancel_how::none;
    }
    return static_cast<cancel_how>(1 + r() % 3);
}

/** Sends pattern bytes [pos, end) in random chunks, with random cancellations; a cancelled
    write continues from the count it reported. Returns the position reached and the error
    that stopped it (none when everything was sent). */
asio::awaitable<std::pair<error_code, std::uint64_t>> send_range(stress_run& run, smux::stream& s,
                                                                 pattern pat, std::uint64_t pos,
                                                                 std::uint64_t end, rng& r,
                                                                 bool cancels) {
    bytes buf;
    while (pos < end) {
        std::size_t const n = random_chunk(r, static_cast<std::size_t>(end - pos));
        buf.resize(n);
        pat.fill(pos, buf);
        auto [ec, k] = co_await run_op(run, s, r, random_cancel(r, cancels), [&](auto token) {
            return s.async_write_some(asio::buffer(buf), std::move(token));
        });
        if (k > n) {
            fail("a write reported more bytes than it was given");
        }
        pos += k;
        if (ec == asio::error::operation_aborted) {
            continue;
        }
        if (ec) {
            co_return std::pair(ec, pos);
        }
        if (k == 0) {
            fail("a write of " + std::to_string(n) + " bytes completed with 0 and no error");
        }
    }
    co_return std::pair(error_code{}, pos);
}

/** Reads and checks every byte against `pat` from `pos`, with random cancellations, until an
    error (eof included) or until `stop_at` bytes. More than `limit` bytes is a failure. */
asio::awaitable<std::pair<error_code, std::uint64_t>> receive_range(
    stress_run& run, smux::stream& s, pattern pat, std::uint64_t pos, std::uint64_t limit, rng& r,
    bool cancels, std::uint64_t stop_at = UINT64_MAX) {
    bytes buf;
    bytes want;
    while (pos < stop_at) {
        buf.resize(random_chunk(r, 70000));
        auto [ec, k] = co_await run_op(run, s, r, random_cancel(r, cancels), [&](auto token) {
            return s.async_read_some(asio::buffer(buf), std::move(token));
        });
        if (k > 0) {
            if (pos + k > limit) {
                fail("read " + std::to_string(pos + k) + " bytes, more than the " +
                     std::to_string(limit) + " sent");
            }
            want.resize(k);
            pat.fill(pos, want);
            if (std::memcmp(buf.data(), want.data(), k) != 0) {
                std::size_t i = 0;
                while (buf[i] == want[i]) {
                    ++i;
                }
                fail("data corrupted at stream offset " + std::to_string(pos + i));
            }
            pos += k;
            run.bytes_verified.fetch_add(k, std::memory_order_relaxed);
        }
        if (ec == asio::error::operation_aborted) {
            continue;
        }
        if (ec) {
            co_return std::pair(ec, pos);
        }
        if (k == 0) {
            fail("a read completed with 0 bytes and no error");
        }
    }
    co_return std::pair(error_code{}, pos);
}

/// Reads until the end; any byte is a failure (the peer sends nothing more).
asio::awaitable<error_code> expect_end(stress_run& run, smux::stream& s, rng& r) {
    auto [ec, n] = co_await receive_range(run, s, pattern(0), 0, 0, r, true);
    (void)n;
    co_return ec;
}

asio::awaitable<error_code> write_all(smux::stream& s, asio::const_buffer data) {
    auto [ec, n] = co_await asio::async_write(s, data, as_tuple_awaitable);
    (void)n;
    co_return ec;
}

/// Ends a stream that saw only expected outcomes.
void require_eof_with(stress_run& run, error_code ec, std::uint64_t got, std::uint64_t want,
                      char const* what) {
    if (ec == asio::error::eof) {
        if (got != want) {
            fail(std::string(what) + ": end of file after " + std::to_string(got) + " of " +
                 std::to_string(want) + " bytes");
        }
        return;
    }
    check_error(run, ec, what);
    if (!ec) {
        fail(std::string(what) + ": the read stopped without end of file");
    }
}

// ---- opener side

/// Records the opener's side of a close_write stream (its id is known before the close).
void record_close_write(stress_run& run, std::uint64_t key, bool clean, std::uint64_t sent) {
    std::lock_guard lock(run.close_mutex);
    auto& rec = run.record(key);
    rec.opener_done = true;
    rec.opener_clean = clean;
    rec.sent = sent;
}

asio::awaitable<void> opener_stream(stress_run& run, smux::stream s, header h, std::uint64_t key,
                                    rng& r) {
    using namespace asio::experimental::awaitable_operators;
    pattern const pat(h.seed);
    auto const hdr = encode(h);
    if (auto ec = co_await write_all(s, asio::buffer(hdr))) {
        check_error(run, ec, "header write");
        if (h.m == mode::close_write) {
            record_close_write(run, key, false, 0);
        }
        co_return;
    }
    switch (h.m) {
        case mode::echo: {
            auto sender = [&]() -> asio::awaitable<void> {
                auto [ec, pos] = co_await send_range(run, s, pat, 0, h.len, r, true);
                check_error(run, ec, "echo send");
                if (!ec) {
                    s.shutdown_send();
                }
            };
            rng r2(r());
            auto receiver = [&]() -> asio::awaitable<void> {
                auto [ec, pos] = co_await receive_range(run, s, pat, 0, h.len, r2, true);
                require_eof_with(run, ec, pos, h.len, "echo receive");
            };
            co_await (sender() && receiver());
            break;
        }
        case mode::upload: {
            auto [ec, pos] = co_await send_range(run, s, pat, 0, h.len, r, true);
            check_error(run, ec, "upload");
            if (ec) {
                break;
            }
            s.shutdown_send();
            std::array<std::uint8_t, 8> reply{};
            auto [rec, n] = co_await asio::async_read(s, asio::buffer(reply), as_tuple_awaitable);
            check_error(run, rec, "upload reply");
            if (rec) {
                break;
            }
            std::uint64_t count = 0;
            for (std::size_t i = 0; i < 8; ++i) {
                count |= static_cast<std::uint64_t>(reply[i]) << (8 * i);
            }
            if (count != h.len) {
                fail("the responder counted " + std::to_string(count) + " of " +
                     std::to_string(h.len) + " uploaded bytes");
            }
            auto eec = co_await expect_end(run, s, r);
            require_eof_with(run, eec, 0, 0, "upload end");
            break;
        }
        case mode::download:
        case mode::idle_cancel: {
            if (h.m == mode::idle_cancel) {
                // Nothing comes before the "go" byte: each read must end aborted and empty.
                std::array<std::uint8_t, 16> buf{};
                for (cancel_how how : {cancel_how::slot_at_once, cancel_how::stream_cancel,
                                       cancel_how::slot_after_timer}) {
                    auto [ec, n] = co_await run_op(run, s, r, how, [&](auto token) {
                        return s.async_read_some(asio::buffer(buf), std::move(token));
                    });
                    if (run.kill_mode && session_error(ec)) {
                        run.session_errors.fetch_add(1, std::memory_order_relaxed);
                        co_return;
                    }
                    if (ec != asio::error::operation_aborted || n != 0) {
                        fail("an idle read cancelled with " +
                             std::to_string(static_cast<int>(how)) + " ended with '" +
                             ec.message() + "' and " + std::to_string(n) + " bytes");
                    }
                }
                std::array<std::uint8_t, 1> const go{0x60};
                if (auto ec = co_await write_all(s, asio::buffer(go))) {
                    check_error(run, ec, "go write");
                    co_return;
                }
            }
            s.shutdown_send();
            auto [ec, pos] = co_await receive_range(run, s, pat, 0, h.len, r, true);
            require_eof_with(run, ec, pos, h.len, "download");
            break;
        }
        case mode::close_write: {
            auto [ec, pos] = co_await send_range(run, s, pat, 0, h.part, r, true);
            check_error(run, ec, "close_write send");
            bool clean = !ec;
            if (clean && h.part < h.len) {
                // One more write, then close while it may be in flight.
                bytes rest(static_cast<std::size_t>(h.len - h.part));
                pat.fill(pos, rest);
                auto ex = co_await asio::this_coro::executor;
                auto done = std::make_shared<event>(ex);
                error_code wec;
                std::size_t wn = 0;
                s.async_write_some(asio::buffer(rest),
                                   asio::bind_executor(ex, [&, done](error_code e, std::size_t n) {
                                       wec = e;
                                       wn = n;
                                       done->notify();
                                   }));
                switch (r() % 3) {
                    case 0:
                        break;
                    case 1:
                        co_await asio::post(ex, asio::use_awaitable);
                        break;
                    default: {
                        asio::steady_timer t(ex, std::chrono::microseconds(r() % 300));
                        co_await t.async_wait(as_tuple_awaitable);
                    }
                }
                s.close();
                co_await done->wait();
                if (wn > rest.size()) {
                    fail("the last write reported more bytes than it was given");
                }
                pos += wn;
                if (wec && wec != asio::error::operation_aborted) {
                    check_error(run, wec, "close_write last write");
                    clean = false;
                }
            }
            s.close();
            record_close_write(run, key, clean, pos);
            break;
        }
        case mode::close_read: {
            s.shutdown_send();
            auto [ec, pos] = co_await receive_range(run, s, pat, 0, h.len, r, true, h.part);
            if (ec == asio::error::eof) {
                require_eof_with(run, ec, pos, h.len, "close_read");
            } else {
                check_error(run, ec, "close_read");
            }
            s.close();
            break;
        }
        case mode::count:
            break;
    }
}

header random_header(rng& r, std::size_t divisor, std::int64_t stream_window) {
    header h;
    h.m = static_cast<mode>(r() % static_cast<std::uint64_t>(mode::count));
    h.seed = r();
    std::uint64_t const roll = r() % 100;
    if (roll < 70) {
        h.len = r() % 16384;
    } else if (roll < 95) {
        h.len = 16384 + r() % (128 * 1024);
    } else {
        h.len = 128 * 1024 + r() % (480 * 1024);
    }
    h.len /= divisor;
    if (h.m == mode::close_read) {
        // Within the receiver's v2 window: the responder's writes never wait for credit that
        // the closed stream will not return (the tests of peer_close_test.cpp cover that).
        h.len = std::min<std::uint64_t>(h.len, static_cast<std::uint64_t>(stream_window));
    }
    h.part = h.len == 0 ? 0 : r() % (h.len + 1);
    return h;
}

/// One worker: a sequence of streams on random pairs, opened from either side.
asio::awaitable<void> worker(stress_run& run, stress_shape shape, std::uint64_t seed) {
    rng r(seed);
    for (int i = 0; i < shape.streams_per_worker; ++i) {
        auto& pair = *run.pairs[r() % run.pairs.size()];
        std::size_t const opener_end = r() % 2;
        auto [ec, s] = co_await pair.ends[opener_end]->open();
        if (ec) {
            check_error(run, ec, "open");
            continue;
        }
        run.tally.opened();
        header const h =
            random_header(r, shape.size_scale_divisor, pair_config(pair.index).max_stream_buffer);
        run.modes[static_cast<std::size_t>(h.m)].fetch_add(1, std::memory_order_relaxed);
        std::uint64_t const key = close_key(pair.index, s.id());
        co_await opener_stream(run, std::move(s), h, key, r);
        run.streams_done.fetch_add(1, std::memory_order_relaxed);
        int const done = pair.completed_streams.fetch_add(1) + 1;
        if (run.kill_mode && done == pair.kill_after && !pair.killed.exchange(true)) {
            // Abortive close from this worker's thread while other streams are in flight.
            pair.ends[r() % 2]->close();
        }
    }
}

// ---- responder side

asio::awaitable<void> responder(stress_run& run, int pair_index, smux::stream s,
                                std::uint64_t seed) {
    rng r(seed);
    std::array<std::uint8_t, header_size> raw{};
    auto [hec, hn] = co_await asio::async_read(s, asio::buffer(raw), as_tuple_awaitable);
    if (hec) {
        check_error(run, hec, "header read");
        co_return;
    }
    header const h = decode(raw);
    pattern const pat(h.seed);
    switch (h.m) {
        case mode::echo: {
            bytes buf;
            for (;;) {
                buf.resize(random_chunk(r, 70000));
                auto [ec, n] = co_await run_op(run, s, r, random_cancel(r, true), [&](auto token) {
                    return s.async_read_some(asio::buffer(buf), std::move(token));
                });
                if (n > 0) {
                    if (auto wec = co_await write_all(s, asio::buffer(buf.data(), n))) {
                        check_error(run, wec, "echo write");
                        co_return;
                    }
                }
                if (ec == asio::error::operation_aborted) {
                    continue;
                }
                if (ec == asio::error::eof) {
                    break;
                }
                check_error(run, ec, "echo read");
                if (ec) {
                    co_return;
                }
            }
            s.shutdown_send();
            break;
        }
        case mode::upload: {
            auto [ec, pos] = co_await receive_range(run, s, pat, 0, h.len, r, true);
            require_eof_with(run, ec, pos, h.len, "upload receive");
            if (ec != asio::error::eof) {
                co_return;
            }
            std::array<std::uint8_t, 8> reply{};
            for (std::size_t i = 0; i < 8; ++i) {
                reply[i] = static_cast<std::uint8_t>(pos >> (8 * i));
            }
            if (auto wec = co_await write_all(s, asio::buffer(reply))) {
                check_error(run, wec, "upload reply");
                co_return;
            }
            s.shutdown_send();
            break;
        }
        case mode::download:
        case mode::idle_cancel:
        case mode::close_read: {
            if (h.m == mode::idle_cancel) {
                std::array<std::uint8_t, 1> go{};
                auto [ec, n] = co_await asio::async_read(s, asio::buffer(go), as_tuple_awaitable);
                if (ec) {
                    check_error(run, ec, "go read");
                    co_return;
                }
            }
            auto [ec, pos] = co_await send_range(run, s, pat, 0, h.len, r, true);
            if (ec) {
                check_error(run, ec, "download send");
                co_return;
            }
            s.shutdown_send();
            // The opener half-closed after its header (or its "go"): nothing more comes.
            auto eec = co_await expect_end(run, s, r);
            require_eof_with(run, eec, 0, 0, "download end");
            break;
        }
        case mode::close_write: {
            auto [ec, pos] = co_await receive_range(run, s, pat, 0, h.len, r, true);
            if (ec != asio::error::eof) {
                check_error(run, ec, "close_write receive");
            }
            std::lock_guard lock(run.close_mutex);
            auto& rec = run.record(close_key(pair_index, s.id()));
            rec.responder_done = true;
            rec.responder_eof = ec == asio::error::eof;
            rec.received = pos;
            break;
        }
        case mode::count:
            break;
    }
    s.close();
}

/// Accepts on one end until the session ends; each stream gets a responder on a random
/// user thread. Accepts are cancelled now and then (no stream may be lost).
asio::awaitable<void> acceptor(stress_run& run, session_pair_state& pair, std::size_t end,
                               std::uint64_t seed) {
    rng r(seed);
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
        auto signal = std::make_shared<asio::cancellation_signal>();
        std::shared_ptr<asio::steady_timer> timer;
        if (r() % 8 == 0) {
            timer = std::make_shared<asio::steady_timer>(ex, std::chrono::microseconds(r() % 500));
            timer->async_wait([signal, type = random_type(r)](error_code ec) {
                if (!ec) {
                    signal->emit(type);
                }
            });
        }
        auto [ec, s] = co_await pair.ends[end]->accept(signal->slot());
        if (timer) {
            timer->cancel();
        }
        if (ec == asio::error::operation_aborted) {
            continue;
        }
        if (ec) {
            if (!session_error(ec)) {
                fail("accept failed with " + ec.message());
            }
            co_return;
        }
        auto& user = *run.users[r() % run.users.size()];
        run.responders.spawn(user, responder(run, pair.index, std::move(s), r()));
        run.tally.accepted();
    }
}

// ---- threads

/// Threads that run one io_context each (or one shared context), joined within a limit.
class runner {
  public:
    void start(asio::io_context& ioc, int threads) {
        for (int i = 0; i < threads; ++i) {
            running_.fetch_add(1);
            threads_.emplace_back([this, &ioc] {
                ioc.run();
                std::lock_guard lock(mutex_);
                running_.fetch_sub(1);
                cv_.notify_all();
            });
        }
    }

    /// True when every thread left run() within `limit`.
    bool wait_finished(clock::duration limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [this] { return running_.load() == 0; });
    }

    void join() {
        for (auto& t : threads_) {
            t.join();
        }
        threads_.clear();
    }

    ~runner() { join(); }

  private:
    std::vector<std::thread> threads_;
    std::atomic<int> running_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
};

/// Counts down from any thread; waits with a limit.
class countdown {
  public:
    explicit countdown(int n) : left_(n) {}
    void arrive() {
        std::lock_guard lock(mutex_);
        if (--left_ == 0) {
            cv_.notify_all();
        }
    }
    bool wait(clock::duration limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [this] { return left_ == 0; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int left_;
};

void run_stress(bool kill_mode, std::uint64_t round) {
    stress_shape const shape;
    std::uint64_t const seed = (base_seed() + round) ^ (kill_mode ? 0x4b494c4cULL : 0);
    std::cout << "[ stress   ] seed " << base_seed() << " (SMUX_STRESS_SEED), round " << round
              << std::endl;
    rng r(seed);
    clock::time_point const started = clock::now();

    asio::io_context io;  // outlives the sessions in `run`
    stress_run run;
    run.kill_mode = kill_mode;
    auto io_guard = asio::make_work_guard(io);
    for (int i = 0; i < shape.user_threads; ++i) {
        run.users.push_back(std::make_unique<asio::io_context>());
    }
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> user_guards;
    for (auto& u : run.users) {
        user_guards.push_back(asio::make_work_guard(*u));
    }

    // Session pairs: created before any thread runs, then only touched through the API.
    for (int i = 0; i < shape.local_pairs + shape.tcp_pairs; ++i) {
        auto p = std::make_unique<session_pair_state>();
        p->index = i;
        p->tcp = i >= shape.local_pairs;
        smux::config const cfg = pair_config(i);
        p->version = cfg.version;
        if (p->tcp) {
            auto sp = make_tcp_pair(io, cfg);
            p->ends[0] = std::make_unique<session_box<asio::ip::tcp::socket>>(std::move(sp.client));
            p->ends[1] = std::make_unique<session_box<asio::ip::tcp::socket>>(std::move(sp.server));
        } else {
            auto sp = make_local_pair(io, cfg);
            p->ends[0] = std::make_unique<session_box<asio::local::stream_protocol::socket>>(
                std::move(sp.client));
            p->ends[1] = std::make_unique<session_box<asio::local::stream_protocol::socket>>(
                std::move(sp.server));
        }
        if (kill_mode) {
            p->kill_after = 2 + static_cast<int>(r() % 20);
        }
        run.pairs.push_back(std::move(p));
    }
    int const session_count = static_cast<int>(run.pairs.size()) * 2;
    countdown ended(session_count);
    for (auto& p : run.pairs) {
        for (std::size_t e = 0; e < 2; ++e) {
            p->ends[e]->wait_closed([&ended, pp = p.get(), e](error_code ec) {
                pp->end_error[e] = ec;
                pp->ended[e].store(true);
                ended.arrive();
            });
        }
    }

    runner io_threads;
    runner user_threads;
    io_threads.start(io, shape.io_threads);
    for (auto& u : run.users) {
        user_threads.start(*u, 1);
    }

    for (auto& p : run.pairs) {
        for (std::size_t e = 0; e < 2; ++e) {
            auto& user = *run.users[r() % run.users.size()];
            run.acceptors.spawn(user, acceptor(run, *p, e, r()));
        }
    }
    for (int u = 0; u < shape.user_threads; ++u) {
        for (int w = 0; w < shape.workers_per_user; ++w) {
            run.workers.spawn(*run.users[static_cast<std::size_t>(u)], worker(run, shape, r()));
        }
    }
    for (int w = 0; w < shape.strand_workers; ++w) {
        run.workers.spawn(asio::any_io_executor(asio::make_strand(io)), worker(run, shape, r()));
    }

    auto const limit = heavy_watchdog_limit;
    bool ok = true;
    auto expect = [&ok](::testing::AssertionResult const& result) {
        EXPECT_TRUE(result);
        ok = ok && static_cast<bool>(result);
    };
    expect(run.workers.wait_blocking(limit));
    if (ok && !run.kill_mode) {
        expect(run.tally.wait_all_accepted(limit));
    }
    if (ok) {
        expect(run.responders.wait_blocking(limit));
    }
    // The end: graceful shutdown of every other client end, abortive close of the rest.
    for (auto& p : run.pairs) {
        if (p->index % 2 == 0) {
            p->ends[0]->shutdown([](error_code ec) {
                EXPECT_TRUE(!ec || session_error(ec)) << "shutdown: " << ec.message();
            });
        } else {
            p->ends[0]->close();
        }
        p->ends[1]->close();
    }
    if (ok) {
        expect(run.acceptors.wait_blocking(limit));
        bool const all_ended = ended.wait(limit);
        EXPECT_TRUE(all_ended) << "a session never reported its end";
        ok = ok && all_ended;
    }
    if (ok) {
        // Every stream handle is closed and every session ended: after the closes already
        // queued on each strand, no stream may be left.
        countdown barrier(session_count);
        for (auto& p : run.pairs) {
            for (auto& e : p->ends) {
                asio::post(e->executor(), [&barrier] { barrier.arrive(); });
            }
        }
        EXPECT_TRUE(barrier.wait(limit));
        for (auto& p : run.pairs) {
            for (std::size_t e = 0; e < 2; ++e) {
                auto const st = p->ends[e]->stats();
                EXPECT_EQ(st.streams_open, 0U) << "pair " << p->index << " end " << e;
                EXPECT_EQ(st.buffered_bytes, 0U) << "pair " << p->index << " end " << e;
                error_code const ec = p->end_error[e];
                EXPECT_TRUE(ec == smux::error::session_closed || session_error(ec))
                    << "pair " << p->index << " end " << e << ": " << ec.message();
            }
        }
    }

    // Threads leave run() once no work is left: a parked operation that never completes
    // (it holds work) would keep them; stop them then, and report.
    io_guard.reset();
    for (auto& g : user_guards) {
        g.reset();
    }
    bool const io_done = io_threads.wait_finished(limit);
    bool const users_done = user_threads.wait_finished(limit);
    EXPECT_TRUE(io_done && users_done) << "work was left in a context after every session ended";
    if (!io_done || !users_done) {
        io.stop();
        for (auto& u : run.users) {
            u->stop();
        }
    }
    io_threads.join();
    user_threads.join();

    if (ok) {
        // Closing while writing: the responder got exactly what the opener was told was sent.
        std::size_t checked = 0;
        for (auto const& [key, rec] : run.closes) {
            if (!rec.opener_done || !rec.responder_done || !rec.opener_clean ||
                !rec.responder_eof) {
                EXPECT_TRUE(kill_mode || (rec.opener_done && rec.responder_done))
                    << "close_write stream " << key << " has only one side";
                continue;
            }
            ++checked;
            EXPECT_EQ(rec.received, rec.sent)
                << "close_write stream " << key << ": the responder read " << rec.received
                << " bytes, the opener's writes reported " << rec.sent;
        }
        if (!kill_mode) {
            EXPECT_GT(checked, 0U);
            EXPECT_EQ(run.session_errors.load(), 0U);
        }
        int const planned = (shape.user_threads * shape.workers_per_user + shape.strand_workers) *
                            shape.streams_per_worker;
        if (!kill_mode) {
            EXPECT_EQ(run.streams_done.load(), static_cast<std::uint64_t>(planned));
        }
    }

    auto const ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();
    std::ostringstream summary;
    summary << run.streams_done.load() << " streams, " << run.bytes_verified.load()
            << " bytes verified, " << run.cancels_issued.load() << " cancellations ("
            << run.aborted_ops.load() << " operations aborted), " << run.session_errors.load()
            << " session errors, modes";
    for (auto const& m : run.modes) {
        summary << " " << m.load();
    }
    summary << ", " << ms << " ms";
    std::cout << "[ stress   ] " << summary.str() << std::endl;
    ::testing::Test::RecordProperty("summary", summary.str());
}

/// Rounds until `budget` is spent (at least one), stopping at the first failure.
void run_rounds(bool kill_mode, clock::duration budget) {
    auto const end = clock::now() + budget;
    std::uint64_t round = 0;
    do {
        run_stress(kill_mode, round++);
    } while (clock::now() < end && !::testing::Test::HasFailure());
    ::testing::Test::RecordProperty("rounds", static_cast<int>(round));
}

TEST(stress, many_streams_many_threads) {
    run_rounds(false, slow_build ? std::chrono::seconds(10) : std::chrono::seconds(3));
}

TEST(stress, sessions_closed_under_load) {
    run_rounds(true, slow_build ? std::chrono::seconds(5) : std::chrono::seconds(2));
}

}  // namespace
