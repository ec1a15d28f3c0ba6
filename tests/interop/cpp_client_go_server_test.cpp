// C++ client <-> Go server: every scenario against `smuxpeer server`, a child process started
// (and killed) by each test with the flags the scenario needs.

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <memory>

#include "interop_fixture.hpp"

namespace interop {

namespace {

/// Counts detached coroutines down and wakes the waiter when all finished.
class completion_latch {
  public:
    completion_latch(asio::any_io_executor const& ex, int count)
        : timer_(ex, asio::steady_timer::time_point::max()), remaining_(count) {}

    /// The completion handler for asio::co_spawn.
    auto handler() {
        return [this](std::exception_ptr e) {
            if (e) {
                ++failed_;
                if (first_error_.empty()) {
                    try {
                        std::rethrow_exception(e);
                    } catch (std::exception const& x) {
                        first_error_ = x.what();
                    }
                }
            }
            if (--remaining_ == 0) {
                timer_.cancel();
            }
        };
    }

    asio::awaitable<void> wait() {
        if (remaining_ > 0) {
            co_await timer_.async_wait(as_tuple);
        }
    }

    /// Waits until all finished or `limit` passed; true if all finished.
    asio::awaitable<bool> wait_for(milliseconds limit) {
        if (remaining_ > 0) {
            timer_.expires_after(limit);
            co_await timer_.async_wait(as_tuple);
        }
        co_return remaining_ == 0;
    }

    [[nodiscard]] int failed() const { return failed_; }
    [[nodiscard]] int remaining() const { return remaining_; }
    [[nodiscard]] std::string const& first_error() const { return first_error_; }

  private:
    asio::steady_timer timer_;
    int remaining_;
    int failed_ = 0;
    std::string first_error_;
};

/// Waits (polling) until `done()` or `timeout`: for state that signals no event, such as
/// the session's open-stream counter.
asio::awaitable<bool> wait_until(std::function<bool()> const& done, milliseconds timeout) {
    auto const end = clock::now() + timeout;
    while (!done()) {
        if (clock::now() >= end) {
            co_return false;
        }
        co_await sleep_for(10ms);  // allowed-sleep: the counter has no completion event
    }
    co_return true;
}

/// The "LEN SHA" line of `bytes`.
std::string digest_line(std::span<std::byte const> bytes) {
    digest d;
    d.update(bytes);
    return d.line();
}

/// Asks the Go server how many streams its session still has ("stats"), until at most `max`.
asio::awaitable<int> go_streams_after(smux::tcp_session& session, int max) {
    int n = -1;
    auto const end = clock::now() + 5s;
    for (;;) {
        smux::stream s = co_await open_command(session, "stats");
        stream_reader r(s);
        std::string const line = co_await r.line();
        s.close();
        if (std::sscanf(line.c_str(), "streams %d", &n) != 1) {
            throw scenario_error("stats: bad reply \"" + line + "\"");
        }
        if (n <= max || clock::now() >= end) {
            co_return n;
        }
        // The Go peer's stream count is only observable by asking again.
        co_await sleep_for(50ms);  // allowed-sleep: polling the peer's count
    }
}

class CppClientGoServer : public interop_test {
  protected:
    [[nodiscard]] char const* pairing() const override { return "CppClientGoServer"; }

    void run(go_server const& peer, smux::config const& cfg, milliseconds watchdog,
             std::function<asio::awaitable<void>(smux::tcp_session&)> const& body) {
        run_cpp_client(context(), peer.endpoint, cfg, watchdog, body);
    }
};

TEST_P(CppClientGoServer, RoundTrip) {
    auto const cfg = base_config();
    go_server peer(cfg);
    run(peer, cfg, budget(20s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto const payload = generator(1).bytes(roundtrip_bytes);
        co_await echo_round_trip(s, payload);
    });
}

TEST_P(CppClientGoServer, ConcurrentStreams) {
    auto const cfg = base_config();
    go_server peer(cfg);
    run(peer, cfg, budget(60s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        completion_latch latch(ex, concurrent_streams);
        generator sizes(2 ^ 0x5A5AU);
        for (int i = 0; i < concurrent_streams; ++i) {
            std::size_t const size = 1 + sizes.next() % concurrent_payload_max;
            auto payload = std::make_shared<std::vector<std::byte>>(
                generator(2 * 1000003ULL + static_cast<std::uint64_t>(i)).bytes(size));
            asio::co_spawn(
                ex,
                [&s, payload]() -> asio::awaitable<void> { co_await echo_round_trip(s, *payload); },
                latch.handler());
        }
        co_await latch.wait();
        if (latch.failed() > 0) {
            throw scenario_error(std::to_string(latch.failed()) + " of " +
                                 std::to_string(concurrent_streams) +
                                 " streams failed, first: " + latch.first_error());
        }
    });
}

TEST_P(CppClientGoServer, BulkUpload) {
    auto const cfg = base_config();
    go_server peer(cfg);
    std::int64_t const n = bulk_bytes();
    run(peer, cfg, budget(milliseconds(30'000 + n / 1'000)),
        [n](smux::tcp_session& s) -> asio::awaitable<void> {
            auto const start = clock::now();
            smux::stream st = co_await open_command(s, "sink " + std::to_string(n));
            generator g(3);
            digest d;
            std::vector<std::byte> buf(256 * 1024);
            for (std::int64_t left = n; left > 0;) {
                std::size_t const c = std::min<std::int64_t>(left, buf.size());
                g.fill(std::span(buf.data(), c));
                d.update(std::span(buf.data(), c));
                co_await write_all(st, std::span(buf.data(), c));
                left -= static_cast<std::int64_t>(c);
            }
            stream_reader r(st);
            std::string const reply = co_await r.line();
            if (reply != d.line()) {
                throw scenario_error("the Go server received \"" + reply + "\", sent \"" +
                                     d.line() + "\"");
            }
            double const secs = std::chrono::duration<double>(clock::now() - start).count();
            std::printf("upload of %lld MiB: %.1f MiB/s\n", static_cast<long long>(n >> 20),
                        static_cast<double>(n >> 20) / secs);
        });
}

TEST_P(CppClientGoServer, BulkDownload) {
    auto const cfg = base_config();
    go_server peer(cfg);
    std::int64_t const n = bulk_bytes();
    run(peer, cfg, budget(milliseconds(30'000 + n / 1'000)),
        [n](smux::tcp_session& s) -> asio::awaitable<void> {
            auto const start = clock::now();
            smux::stream st = co_await open_command(s, "gen " + std::to_string(n) + " 4");
            stream_reader r(st);
            co_await r.expect_generated(static_cast<std::uint64_t>(n), 4);
            double const secs = std::chrono::duration<double>(clock::now() - start).count();
            std::printf("download of %lld MiB: %.1f MiB/s\n", static_cast<long long>(n >> 20),
                        static_cast<double>(n >> 20) / secs);
        });
}

TEST_P(CppClientGoServer, FrameSizes) {
    // Sub-run 1: C++ frames 32768, Go frames 65535; sub-run 2: the other way round. Each side
    // must accept frames larger than its own max_frame_size.
    for (auto const& [cpp_frame, go_frame] : {std::pair{32768, 65535}, std::pair{65535, 32768}}) {
        SCOPED_TRACE("C++ max_frame_size " + std::to_string(cpp_frame) + ", Go MaxFrameSize " +
                     std::to_string(go_frame));
        auto cfg = base_config();
        cfg.max_frame_size = cpp_frame;
        auto go_cfg = base_config();
        go_cfg.max_frame_size = go_frame;
        go_server peer(go_cfg);
        run(peer, cfg, budget(30s), [](smux::tcp_session& s) -> asio::awaitable<void> {
            std::size_t total = 0;
            std::string list;
            for (std::size_t n : frame_test_sizes) {
                total += n;
                list += (list.empty() ? "" : ",") + std::to_string(n);
            }
            // C++ -> Go: one write call per size
            smux::stream up = co_await open_command(s, "sink " + std::to_string(total));
            generator g(5);
            digest d;
            for (std::size_t n : frame_test_sizes) {
                auto bytes = g.bytes(n);
                d.update(bytes);
                co_await write_all(up, bytes);
            }
            stream_reader ur(up);
            if (std::string const reply = co_await ur.line(); reply != d.line()) {
                throw scenario_error("upload: the Go server received \"" + reply + "\", sent \"" +
                                     d.line() + "\"");
            }
            up.close();
            // Go -> C++: one Write call per size on the Go side
            smux::stream down = co_await open_command(s, "sizes 6 " + list);
            stream_reader dr(down);
            co_await dr.expect_generated(total, 6);
        });
    }
}

TEST_P(CppClientGoServer, HalfCloseCppSendsFinFirst) {
    // C++ sends its request and FIN; the Go server reads to EOF and only then replies; C++
    // (after its FIN) must receive the whole reply.
    auto const cfg = base_config();
    go_server peer(cfg);
    std::int64_t const reply_bytes = after_fin_bytes(version());
    run(peer, cfg, budget(30s), [reply_bytes](smux::tcp_session& s) -> asio::awaitable<void> {
        smux::stream st =
            co_await open_command(s, "halfclose " + std::to_string(reply_bytes) + " 8");
        auto const request = generator(7).bytes(halfclose_request_bytes);
        co_await write_all(st, request);
        st.shutdown_send();
        stream_reader r(st);
        std::string const line = co_await r.line();
        if (line != digest_line(request)) {
            throw scenario_error("the Go server received \"" + line + "\", sent \"" +
                                 digest_line(request) + "\"");
        }
        co_await r.expect_generated(static_cast<std::uint64_t>(reply_bytes), 8);
    });
}

TEST_P(CppClientGoServer, HalfCloseGoSendsFinFirst) {
    // Closest honest scenario with Go v1.5.16 (no CloseWrite): the Go server writes and
    // closes (FIN, and it forgets the stream). C++ reads everything, then EOF; its write side
    // must still work after the peer's FIN (the Go session drops those frames), and the
    // session must stay healthy.
    auto const cfg = base_config();
    go_server peer(cfg);
    std::int64_t const after = after_fin_bytes(version());
    run(peer, cfg, budget(30s), [after](smux::tcp_session& s) -> asio::awaitable<void> {
        {
            smux::stream st = co_await open_command(s, "gen 100000 9");
            stream_reader r(st);
            co_await r.expect_generated(100000, 9);
            auto const bytes = generator(10).bytes(static_cast<std::size_t>(after));
            co_await write_all(st, bytes);  // after the peer's FIN
            st.close();
        }
        for (std::uint64_t i = 0; i < 3; ++i) {
            // The session must stay healthy over time after the dropped frames.
            co_await sleep_for(100ms);  // allowed-sleep: time passing is the scenario
            auto const payload = generator(11 + i).bytes(4096);
            co_await echo_round_trip(s, payload);
        }
        bool const forgotten =
            co_await wait_until([&s] { return s.stats().streams_open == 0; }, 5s);
        if (!forgotten) {
            throw scenario_error("C++ still has " + std::to_string(s.stats().streams_open) +
                                 " streams after closing all");
        }
    });
}

TEST_P(CppClientGoServer, SlowReader) {
    auto const cfg = base_config();
    go_server peer(cfg);
    int const v = version();
    run(peer, cfg, budget(60s), [v](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::uint64_t const n = static_cast<std::uint64_t>(slow_stream_bytes(v));
        std::string const key = "cpp-" + std::to_string(::getpid()) + "-v" + std::to_string(v);
        smux::stream st = co_await open_command(s, "slow " + std::to_string(n) + " " + key);
        auto const data = generator(12).bytes(n);

        // The writer of the blocked stream, counting what the session accepted.
        std::size_t progress = 0;
        bool writer_done = false;
        smux::error_code writer_error;
        completion_latch writer(ex, 1);
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                while (progress < data.size()) {
                    std::size_t const c = std::min<std::size_t>(16 * 1024, data.size() - progress);
                    auto [ec, k] = co_await st.async_write_some(
                        asio::buffer(data.data() + progress, c), as_tuple);
                    progress += k;
                    if (ec) {
                        writer_error = ec;
                        break;
                    }
                }
                writer_done = true;
            },
            writer.handler());

        // Other streams must complete while that reader reads nothing.
        auto const start = clock::now();
        completion_latch others(ex, slow_other_streams);
        for (int i = 0; i < slow_other_streams; ++i) {
            auto payload = std::make_shared<std::vector<std::byte>>(
                generator(100 + static_cast<std::uint64_t>(i)).bytes(slow_other_bytes));
            asio::co_spawn(
                ex,
                [&s, payload]() -> asio::awaitable<void> { co_await echo_round_trip(s, *payload); },
                others.handler());
        }
        std::exception_ptr failure;
        try {
            co_await others.wait();
            if (others.failed() > 0) {
                throw scenario_error("another stream failed while one reader was blocked: " +
                                     others.first_error());
            }
            auto const others_ms =
                std::chrono::duration_cast<milliseconds>(clock::now() - start).count();
            // A writer that wrongly ignored the window would overrun it now; showing that it
            // does NOT happen takes time.
            co_await sleep_for(300ms);  // allowed-sleep: proving an absence takes time
            std::size_t const blocked = progress;
            std::printf("others done in %lld ms; blocked writer at %zu bytes (finished: %s)\n",
                        static_cast<long long>(others_ms), blocked, writer_done ? "yes" : "no");
            if (v == 2) {
                // The Go reader has sent no window update: at most the initial window (the
                // command line included) may be in flight.
                if (writer_done || blocked > static_cast<std::size_t>(v2_initial_window)) {
                    throw scenario_error("v2 writer accepted " + std::to_string(blocked) +
                                         " bytes for a reader that read nothing (window " +
                                         std::to_string(v2_initial_window) + ")");
                }
            }
            smux::stream rel = co_await open_command(s, "release " + key);
            stream_reader rr(rel);
            if (std::string const ok = co_await rr.line(); ok != "ok") {
                throw scenario_error("release: \"" + ok + "\"");
            }
            co_await writer.wait();
            if (writer_error) {
                throw scenario_error("slow stream write: " + describe(writer_error));
            }
            stream_reader r(st);
            if (std::string const line = co_await r.line(); line != digest_line(data)) {
                throw scenario_error("the slow reader received \"" + line + "\", sent \"" +
                                     digest_line(data) + "\"");
            }
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // The coroutines above use this frame: end them before leaving it.
            s.close();
            co_await writer.wait();
            co_await others.wait();
            std::rethrow_exception(failure);
        }
    });
}

TEST_P(CppClientGoServer, Churn) {
    auto const cfg = base_config();
    go_server peer(cfg);
    run(peer, cfg, budget(120s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        int next = 0;
        completion_latch workers(ex, churn_workers);
        for (int w = 0; w < churn_workers; ++w) {
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    for (int i = next++; i < churn_streams; i = next++) {
                        auto const payload =
                            generator(1000 + static_cast<std::uint64_t>(i)).bytes(16);
                        co_await echo_round_trip(s, payload);
                    }
                },
                workers.handler());
        }
        co_await workers.wait();
        if (workers.failed() > 0) {
            throw scenario_error("churn failed: " + workers.first_error());
        }
        // Every stream is forgotten on both sides (the stats stream is the Go side's only one).
        int const go_left = co_await go_streams_after(s, 1);
        if (go_left > 1) {
            throw scenario_error("the Go session still has " + std::to_string(go_left) +
                                 " streams after the churn");
        }
        if (!co_await wait_until([&s] { return s.stats().streams_open == 0; }, 5s)) {
            throw scenario_error("the C++ session still has " +
                                 std::to_string(s.stats().streams_open) + " streams");
        }
    });
}

TEST_P(CppClientGoServer, KeepaliveIdle) {
    auto const cfg = keepalive_config();
    go_server peer(cfg);
    run(peer, cfg, budget(20s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto const before = generator(13).bytes(1000);
        co_await echo_round_trip(s, before);
        auto const frames0 = s.stats().frames_received;
        co_await sleep_for(idle_period);  // allowed-sleep: idling is the scenario
        if (!s.is_open()) {
            throw scenario_error("the session ended during the idle period");
        }
        auto const nops = s.stats().frames_received - frames0;
        // Go pings every 100 ms: about 25 NOPs in 2.5 s.
        if (nops < 5) {
            throw scenario_error("only " + std::to_string(nops) +
                                 " frames (NOPs) arrived during the idle period");
        }
        auto const after = generator(14).bytes(1000);
        co_await echo_round_trip(s, after);
    });
}

TEST_P(CppClientGoServer, KeepaliveTimeout) {
    auto const cfg = keepalive_config();
    auto go_cfg = base_config();
    go_cfg.keep_alive_disabled = true;  // a Go peer that sends no NOP
    go_server peer(go_cfg);
    run(peer, cfg, budget(30s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        // Traffic alone keeps the session alive for several timeouts.
        auto const end = clock::now() + active_period;
        for (std::uint64_t i = 0; clock::now() < end; ++i) {
            auto const payload = generator(20 + i).bytes(100);
            co_await echo_round_trip(s, payload);
            co_await sleep_for(50ms);  // allowed-sleep: paced traffic over time
        }
        if (!s.is_open()) {
            throw scenario_error("the session ended while traffic flowed");
        }
        smux::stream st =
            co_await open_command(s, "silent " + std::to_string(silence_period.count() + 1000));
        stream_reader r(st);
        if (std::string const ok = co_await r.line(); ok != "ok") {
            throw scenario_error("silent: \"" + ok + "\"");
        }
        auto const silent_since = clock::now();
        smux::error_code read_ec;
        completion_latch reader(ex, 1);
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                std::array<std::byte, 16> b{};
                auto [ec, n] = co_await r.some(b);
                read_ec = ec;
            },
            reader.handler());
        auto [ec] = co_await s.async_wait_closed(as_tuple);
        auto const after = std::chrono::duration_cast<milliseconds>(clock::now() - silent_since);
        co_await reader.wait();
        std::printf("session ended %lld ms after the peer went silent: %s\n",
                    static_cast<long long>(after.count()), describe(ec).c_str());
        if (ec != smux::error::keepalive_timeout) {
            throw scenario_error("the session ended with " + describe(ec) +
                                 ", expected keepalive_timeout");
        }
        if (read_ec != smux::error::keepalive_timeout) {
            throw scenario_error("the pending read ended with " + describe(read_ec) +
                                 ", expected keepalive_timeout");
        }
        // Detection takes one to two timeouts after the last frame.
        if (after < keepalive_timeout - 50ms || after > budget(2 * keepalive_timeout + 1s)) {
            throw scenario_error("the timeout fired " + std::to_string(after.count()) +
                                 " ms after the last frame (timeout " +
                                 std::to_string(keepalive_timeout.count()) + " ms)");
        }
    });
}

TEST_P(CppClientGoServer, PeerClosesSession) {
    auto const cfg = base_config();
    go_server peer(cfg);
    run(peer, cfg, budget(30s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        struct pending {
            std::string what;
            bool done = false;
            smux::error_code ec;
        };
        std::array<pending, 6> ops{{{"read on the close-session stream"},
                                    {"read on a held stream"},
                                    {"write to a held stream"},
                                    {"accept"},
                                    {"wait_closed"},
                                    {"read on the written stream"}}};
        completion_latch latch(ex, static_cast<int>(ops.size()));
        auto reader = [&](smux::stream& st, pending& p) -> asio::awaitable<void> {
            std::array<std::byte, 64> b{};
            for (;;) {
                auto [ec, n] = co_await st.async_read_some(asio::buffer(b), as_tuple);
                if (ec) {
                    p.ec = ec;
                    break;
                }
            }
            p.done = true;
        };
        // The close is requested first, with a delay: in v1 the write below stalls the
        // whole connection once the Go receive buffer is full (no per-stream window).
        smux::stream c = co_await open_command(s, "close-session 500");
        smux::stream a = co_await open_command(s, "hold");
        smux::stream b = co_await open_command(s, "hold");
        asio::co_spawn(ex, reader(c, ops[0]), latch.handler());
        asio::co_spawn(ex, reader(a, ops[1]), latch.handler());
        auto big = std::make_shared<std::vector<std::byte>>(16 * 1024 * 1024);
        asio::co_spawn(
            ex,
            [&, big]() -> asio::awaitable<void> {
                auto [ec, n] = co_await asio::async_write(b, asio::buffer(*big), as_tuple);
                ops[2].ec = ec;
                ops[2].done = true;
            },
            latch.handler());
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                auto [ec, st] = co_await s.async_accept_stream(as_tuple);
                ops[3].ec = ec;
                ops[3].done = true;
            },
            latch.handler());
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await s.async_wait_closed(as_tuple);
                ops[4].ec = ec;
                ops[4].done = true;
            },
            latch.handler());
        asio::co_spawn(ex, reader(b, ops[5]), latch.handler());

        bool const all = co_await latch.wait_for(budget(10s));
        std::string report;
        for (auto const& p : ops) {
            report += "\n  " + p.what + ": " + (p.done ? describe(p.ec) : "STILL PENDING");
        }
        if (!all) {
            // The coroutines above use this frame: end them before leaving it.
            s.close();
            co_await latch.wait();
        }
        std::printf("after the Go server closed the session:%s\n", report.c_str());
        if (!all) {
            throw scenario_error("operations still pending " + std::to_string(budget(10s).count()) +
                                 " ms after the peer closed (then closed locally):" + report);
        }
        smux::error_code const terminal = ops[4].ec;
        if (terminal != smux::error::connection_closed &&
            terminal != asio::error::connection_reset) {
            throw scenario_error("wait_closed: " + describe(terminal) +
                                 ", expected connection_closed (or connection_reset)");
        }
        for (auto const& p : ops) {
            if (!p.ec || p.ec == asio::error::eof || p.ec == asio::error::operation_aborted) {
                throw scenario_error(p.what + " ended with " + describe(p.ec) +
                                     " instead of the session's error:" + report);
            }
        }
        auto [oec, st] = co_await s.async_open_stream(as_tuple);
        if (!oec) {
            throw scenario_error("open_stream succeeded on a closed session");
        }
    });
}

TEST_P(CppClientGoServer, VersionMismatch) {
    auto const cfg = base_config();
    // The Go peer of the other version pings every 100 ms: its first NOP carries its version.
    auto go_cfg = keepalive_config();
    go_cfg.version = other_version();
    go_server peer(go_cfg);
    run(peer, cfg, budget(20s), [](smux::tcp_session& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        smux::stream st = co_await open_command(s, "echo");
        co_await write_text(st, "hello");
        smux::error_code read_ec;
        completion_latch reader(ex, 1);
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                std::array<std::byte, 16> b{};
                auto [ec, n] = co_await st.async_read_some(asio::buffer(b), as_tuple);
                read_ec = ec ? ec : make_error_code(asio::error::message_size);  // data: wrong
            },
            reader.handler());
        auto const start = clock::now();
        auto [ec] = co_await s.async_wait_closed(as_tuple);
        co_await reader.wait();
        std::printf("session ended after %lld ms: %s; pending read: %s\n",
                    static_cast<long long>(
                        std::chrono::duration_cast<milliseconds>(clock::now() - start).count()),
                    describe(ec).c_str(), describe(read_ec).c_str());
        if (ec != smux::error::invalid_version) {
            throw scenario_error("the session ended with " + describe(ec) +
                                 ", expected invalid_version");
        }
        if (read_ec != smux::error::invalid_version) {
            throw scenario_error("the pending read ended with " + describe(read_ec) +
                                 ", expected invalid_version");
        }
    });
}

INSTANTIATE_TEST_SUITE_P(InteropV1, CppClientGoServer, ::testing::Values(1), version_name);
INSTANTIATE_TEST_SUITE_P(InteropV2, CppClientGoServer, ::testing::Values(2), version_name);

}  // namespace

// ---- the client runner shared by this file's tests

void run_cpp_client(std::string const& context, asio::ip::tcp::endpoint const& endpoint,
                    smux::config const& cfg, milliseconds watchdog,
                    std::function<asio::awaitable<void>(smux::tcp_session&)> const& body) {
    asio::io_context ioc(1);
    asio::ip::tcp::socket socket(ioc);
    asio::error_code ec;
    socket.connect(endpoint, ec);
    if (ec) {
        ADD_FAILURE() << context << ": connect to " << endpoint << ": " << describe(ec);
        return;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::optional<smux::tcp_session> session;
    session.emplace(smux::role::client, std::move(socket), cfg);
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(ioc, body(*session), [&](std::exception_ptr e) {
        done = true;
        failure = e;
        ioc.stop();
    });
    ioc.run_for(watchdog);
    if (!done) {
        ADD_FAILURE() << context << ": watchdog: the scenario did not finish within "
                      << watchdog.count() << " ms";
    }
    // Close the session: whatever is still pending must complete (with an error).
    session->close();
    ioc.restart();
    ioc.run_for(5s);
    if (!done) {
        ADD_FAILURE() << context << ": still not finished 5 s after closing the session";
        ioc.stop();
    }
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (std::exception const& e) {
            ADD_FAILURE() << context << ": " << e.what();
        }
    }
}

}  // namespace interop
