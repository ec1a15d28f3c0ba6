#ifndef SMUX_TESTS_FAULTS_FAULT_HARNESS_HPP
#define SMUX_TESTS_FAULTS_FAULT_HARNESS_HPP

// The scenario of the fault-injection tests and its checks. Two sessions talk over the
// in-memory duplex stream on a single-threaded io_context: the client opens a few streams,
// both sides send a payload and half-close, read to the end and close; one stream is closed
// by the client while the peer still sends (operations complete with operation_aborted);
// then the client shuts the session down gracefully. A fault is injected into one end of the
// transport (an operation that fails, end of file or a reset after n bytes, short or late
// operations) and every run is checked for:
//   - completion: every coroutine and every session wait ends before the watchdog fires;
//   - errors: a read ends with eof only after the whole payload; otherwise with its session's
//     terminal error; a session whose part was cut short ends with the injected error (or
//     connection_closed when the peer's transport went away, or after end of file);
//   - data: what a reader got is a prefix of what was sent, and exactly what the writer was
//     told was sent when the writer closed early;
//   - release: stats().streams_open and buffered_bytes are 0 after close, every coroutine
//     frame, handler and session driver is destroyed (weak references expire).

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/asio_harness.hpp"

namespace smux_fault {

using namespace smux_test;
using smux::error_code;
using smux::test::duplex_stream;

/** A duplex_stream end owned by a session. Its `alive` token dies with the session's driver
    (which owns the transport), so a test can prove the driver was released; it can also
    record every byte read through it. */
class tracked_end {
  public:
    using executor_type = duplex_stream::executor_type;
    using lowest_layer_type = tracked_end;

    tracked_end(duplex_stream inner, std::shared_ptr<int> alive,
                std::shared_ptr<bytes> read_log = nullptr)
        : inner_(std::move(inner)), alive_(std::move(alive)), read_log_(std::move(read_log)) {}

    [[nodiscard]] executor_type get_executor() const noexcept { return inner_.get_executor(); }
    lowest_layer_type& lowest_layer() noexcept { return *this; }
    duplex_stream& inner() noexcept { return inner_; }

    void close(error_code& ec) { inner_.close(ec); }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(MutableBufferSequence const& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, MutableBufferSequence const& b) {
                auto ex = asio::get_associated_executor(handler, inner_.get_executor());
                inner_.async_read_some(
                    b, asio::bind_executor(ex, [log = read_log_, b, h = std::move(handler)](
                                                   error_code ec, std::size_t n) mutable {
                        if (log && n > 0) {
                            std::size_t const old = log->size();
                            log->resize(old + n);
                            asio::buffer_copy(asio::buffer(log->data() + old, n), b, n);
                        }
                        std::move(h)(ec, n);
                    }));
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(ConstBufferSequence const& buffers, Token&& token) {
        return inner_.async_write_some(buffers, std::forward<Token>(token));
    }

  private:
    duplex_stream inner_;
    std::shared_ptr<int> alive_;
    std::shared_ptr<bytes> read_log_;
};

using fault_session = smux::basic_session<tracked_end>;

// ---- what a run does

/// One stream of the scenario: bytes client -> server ("up") and server -> client ("down").
struct stream_plan {
    std::size_t up = 0;
    std::size_t down = 0;
    /// Non-zero: the client closes the stream (no half-close) once it read this many bytes,
    /// while its own write and the server's may still be in progress.
    std::size_t client_closes_after = 0;
};

struct scenario {
    std::string name;
    std::vector<stream_plan> streams;
    std::int64_t max_frame_size = 1000;
    std::size_t read_chunk = 4096;  ///< buffer of each stream read
};

/// 4 streams, one of 300 KiB (beyond the v2 window of 256 KiB, so window updates matter).
inline scenario bulk_scenario() {
    return {"bulk",
            {{4096, 3072, 0}, {300 * 1024, 0, 0}, {1, 20 * 1024, 0}, {40 * 1024, 6000, 1024}},
            1000,
            4096};
}

/// 4 small streams with small frames: a few hundred bytes each way, every frame kind.
inline scenario small_scenario() {
    return {"small", {{120, 90, 0}, {0, 200, 0}, {33, 0, 0}, {500, 400, 100}}, 64, 256};
}

/// 3 tiny streams with tiny frames (about 300 bytes each way): for faults at every byte.
inline scenario tiny_scenario() {
    return {"tiny", {{40, 30, 0}, {0, 50, 0}, {70, 90, 20}}, 32, 64};
}

/// How both ends of the transport behave (0: unlimited, no delay).
struct transport_setup {
    std::size_t read_size = 0;
    std::size_t write_size = 0;
    std::chrono::nanoseconds read_delay{0};
    std::chrono::nanoseconds write_delay{0};
};

enum class side { client, server };

inline char const* side_name(side s) {
    return s == side::client ? "client" : "server";
}

struct fault {
    enum class kind {
        none,
        fail,    ///< duplex_stream::fail_after(n, ec)
        breaks,  ///< duplex_stream::break_after(n, ec)
        eof,     ///< duplex_stream::eof_after(n)
        reset,   ///< duplex_stream::reset_after(n, ec)
    };
    kind what = kind::none;
    side where = side::client;
    std::size_t n = 0;
    error_code ec;
    /// Transport setup of the faulted end only (overrides `transport_setup` there).
    std::optional<std::size_t> read_size;
};

inline std::string describe(fault const& f) {
    static char const* const kinds[] = {"none", "fail_after", "break_after", "eof_after",
                                        "reset_after"};
    std::ostringstream os;
    os << kinds[static_cast<int>(f.what)] << "(" << f.n;
    if (f.ec) {
        os << ", " << f.ec.message();
    }
    os << ") at the " << side_name(f.where) << " end";
    if (f.read_size) {
        os << " with reads of at most " << *f.read_size << " bytes";
    }
    return os.str();
}

// ---- what a run observed

struct direction_log {
    bool write_started = false;
    bool write_done = false;
    std::size_t written = 0;
    error_code write_ec;
    bool read_started = false;
    bool read_done = false;
    bytes received;
    error_code read_ec;
};

struct stream_log {
    bool opened = false;
    error_code open_ec;
    bool accepted = false;
    direction_log up;    ///< written by the client, read by the server
    direction_log down;  ///< written by the server, read by the client
};

struct outcome {
    std::vector<stream_log> streams;
    bool client_finished = false;  ///< the client's coroutine ran to its end
    bool server_finished = false;
    error_code accept_ec;  ///< the error that ended the server's accept loop early
    bool shutdown_done = false;
    error_code shutdown_ec;
    bool client_ended = false;
    error_code client_end;  ///< async_wait_closed
    bool server_ended = false;
    error_code server_end;
    bool client_struck = false;  ///< the fault took effect at this end
    bool server_struck = false;
    std::size_t client_ops = 0;  ///< transport operations of each end
    std::size_t server_ops = 0;
    smux::session_stats client_stats;  ///< after close
    smux::session_stats server_stats;
    smux::session_stats client_stats_before_close;
    smux::session_stats server_stats_before_close;
};

inline bytes payload(std::size_t stream, bool up, std::size_t size) {
    return pattern(0x5eed0000ULL + stream * 2 + (up ? 0 : 1)).make(0, size);
}

/// Writes the payload, then half-closes (unless the write failed).
inline asio::awaitable<void> write_part(smux::stream& s, bytes const& data, direction_log& log) {
    log.write_started = true;
    if (!data.empty()) {
        auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), as_tuple_awaitable);
        log.written = n;
        log.write_ec = ec;
    }
    if (!log.write_ec) {
        s.shutdown_send();
    }
    log.write_done = true;
}

/// Reads until an error or end of file; with `stop_after`, closes the stream once it got that
/// many bytes (the read part then ends without an error).
inline asio::awaitable<void> read_part(smux::stream& s, std::size_t chunk, std::size_t stop_after,
                                       direction_log& log) {
    log.read_started = true;
    bytes buf(chunk);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        log.received.insert(log.received.end(), buf.begin(),
                            buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (ec) {
            log.read_ec = ec;
            break;
        }
        if (stop_after != 0 && log.received.size() >= stop_after) {
            s.close();  // the write part may still be in progress: it is aborted
            break;
        }
    }
    log.read_done = true;
}

/// Shared by the coroutines of one run (held by each, so it outlives all of them).
struct run_state {
    scenario sc;
    std::vector<bytes> up_payloads;
    std::vector<bytes> down_payloads;
    outcome out;
    std::size_t client_streams_left = 0;
    std::optional<event> client_streams_done;
};

inline asio::awaitable<void> client_stream(std::shared_ptr<run_state> rs, std::size_t i,
                                           smux::stream s) {
    using namespace asio::experimental::awaitable_operators;
    auto& log = rs->out.streams[i];
    co_await (write_part(s, rs->up_payloads[i], log.up) &&
              read_part(s, rs->sc.read_chunk, rs->sc.streams[i].client_closes_after, log.down));
    s.close();
    if (--rs->client_streams_left == 0) {
        rs->client_streams_done->notify();
    }
}

inline asio::awaitable<void> server_stream(std::shared_ptr<run_state> rs, std::size_t i,
                                           smux::stream s) {
    using namespace asio::experimental::awaitable_operators;
    auto& log = rs->out.streams[i];
    co_await (write_part(s, rs->down_payloads[i], log.down) &&
              read_part(s, rs->sc.read_chunk, 0, log.up));
    s.close();
}

inline asio::awaitable<void> client_main(std::shared_ptr<run_state> rs, fault_session& client,
                                         task_group& tasks) {
    auto ex = co_await asio::this_coro::executor;
    rs->client_streams_done.emplace(ex);
    rs->client_streams_left = rs->sc.streams.size();
    for (std::size_t i = 0; i < rs->sc.streams.size(); ++i) {
        auto [ec, s] = co_await client.async_open_stream(as_tuple_awaitable);
        if (ec) {
            rs->out.streams[i].open_ec = ec;
            if (--rs->client_streams_left == 0) {
                rs->client_streams_done->notify();
            }
            continue;
        }
        rs->out.streams[i].opened = true;
        tasks.spawn(ex, client_stream(rs, i, std::move(s)));
    }
    co_await rs->client_streams_done->wait();
    auto [ec] = co_await client.async_shutdown(as_tuple_awaitable);
    rs->out.shutdown_ec = ec;
    rs->out.shutdown_done = true;
    rs->out.client_finished = true;
}

inline asio::awaitable<void> server_main(std::shared_ptr<run_state> rs, fault_session& server,
                                         task_group& tasks) {
    auto ex = co_await asio::this_coro::executor;
    for (std::size_t k = 0; k < rs->sc.streams.size(); ++k) {
        auto [ec, s] = co_await server.async_accept_stream(as_tuple_awaitable);
        if (ec) {
            rs->out.accept_ec = ec;
            break;
        }
        // The client opens ids 3, 5, 7, ... in order.
        std::size_t const i = (s.id() - 3) / 2;
        if (s.id() < 3 || s.id() % 2 == 0 || i >= rs->sc.streams.size() ||
            rs->out.streams[i].accepted) {
            ADD_FAILURE() << "accepted an unexpected stream id " << s.id();
            continue;
        }
        rs->out.streams[i].accepted = true;
        tasks.spawn(ex, server_stream(rs, i, std::move(s)));
    }
    rs->out.server_finished = true;
}

inline void apply(duplex_stream& end, transport_setup const& t) {
    if (t.read_size != 0) {
        end.set_read_size(t.read_size);
    }
    if (t.write_size != 0) {
        end.set_write_size(t.write_size);
    }
    end.set_read_delay(t.read_delay);
    end.set_write_delay(t.write_delay);
}

inline void apply(duplex_stream& end, fault const& f) {
    if (f.read_size) {
        end.set_read_size(*f.read_size);
    }
    switch (f.what) {
        case fault::kind::none:
            break;
        case fault::kind::fail:
            end.fail_after(f.n, f.ec);
            break;
        case fault::kind::breaks:
            end.break_after(f.n, f.ec);
            break;
        case fault::kind::eof:
            end.eof_after(f.n);
            break;
        case fault::kind::reset:
            end.reset_after(f.n, f.ec);
            break;
    }
}

inline smux::config scenario_config(int version, scenario const& sc) {
    smux::config cfg = quiet_config(version);
    cfg.max_frame_size = sc.max_frame_size;
    return cfg;
}

/** Runs the scenario once over a fresh io_context; fills `out`. Fails (without checking the
    outcome) when something hangs or is not released. `faulted_end_reads`, when given, records
    the bytes the faulted end read. */
inline ::testing::AssertionResult run_scenario(int version, scenario const& sc,
                                               transport_setup const& ts, fault const& f,
                                               outcome& out,
                                               std::shared_ptr<bytes> faulted_end_reads = nullptr) {
    auto rs = std::make_shared<run_state>();
    rs->sc = sc;
    rs->out.streams.resize(sc.streams.size());
    for (std::size_t i = 0; i < sc.streams.size(); ++i) {
        rs->up_payloads.push_back(payload(i, true, sc.streams[i].up));
        rs->down_payloads.push_back(payload(i, false, sc.streams[i].down));
    }
    std::weak_ptr<int> client_alive;
    std::weak_ptr<int> server_alive;
    ::testing::AssertionResult result = ::testing::AssertionSuccess();
    task_group tasks;  // outlives the context, whose teardown may destroy coroutines
    {
        asio::io_context ioc;
        {
            auto [a, b] = duplex_stream::make_pair(ioc.get_executor());
            apply(a, ts);
            apply(b, ts);
            apply(f.where == side::client ? a : b, f);
            std::shared_ptr<bytes> const no_log;
            auto const ca = std::make_shared<int>(0);
            auto const sa = std::make_shared<int>(0);
            client_alive = ca;
            server_alive = sa;
            smux::config const cfg = scenario_config(version, sc);
            bool const log_client = f.where == side::client;
            fault_session client(
                smux::role::client,
                tracked_end(std::move(a), ca, log_client ? faulted_end_reads : no_log), cfg);
            fault_session server(
                smux::role::server,
                tracked_end(std::move(b), sa, log_client ? no_log : faulted_end_reads), cfg);
            client.async_wait_closed([rs](error_code ec) {
                rs->out.client_ended = true;
                rs->out.client_end = ec;
            });
            server.async_wait_closed([rs](error_code ec) {
                rs->out.server_ended = true;
                rs->out.server_end = ec;
            });
            tasks.spawn(ioc, client_main(rs, client, tasks));
            tasks.spawn(ioc, server_main(rs, server, tasks));
            auto& o = rs->out;
            auto r =
                run_until(ioc, [&] { return tasks.done() && o.client_ended && o.server_ended; });
            if (!r) {
                result = r << "\n  " << tasks.pending() << " coroutine(s) pending; client "
                           << (o.client_ended ? "ended" : "still open") << ", server "
                           << (o.server_ended ? "ended" : "still open")
                           << "; client finished: " << o.client_finished
                           << ", server finished: " << o.server_finished;
                for (std::size_t i = 0; i < o.streams.size(); ++i) {
                    auto const& s = o.streams[i];
                    result << "\n  stream " << i << ": opened " << s.opened << " accepted "
                           << s.accepted << "; up write " << s.up.write_started << "/"
                           << s.up.write_done << " read " << s.up.read_started << "/"
                           << s.up.read_done << " (" << s.up.received.size() << " B); down write "
                           << s.down.write_started << "/" << s.down.write_done << " read "
                           << s.down.read_started << "/" << s.down.read_done << " ("
                           << s.down.received.size() << " B)";
                }
            }
            if (!result) {
                // Coroutines may still refer to the sessions: stop here; destroying the
                // context destroys them without resuming them.
                out = rs->out;
                rs->client_streams_done.reset();  // its timer belongs to the context
                return result;
            }
            if (auto c = tasks.check(); !c) {
                result = c;
            }
            o.client_stats_before_close = client.stats();
            o.server_stats_before_close = server.stats();
            o.client_struck = client.next_layer().inner().fault_struck();
            o.server_struck = server.next_layer().inner().fault_struck();
            o.client_ops = client.next_layer().inner().operation_count();
            o.server_ops = server.next_layer().inner().operation_count();
            client.close();
            server.close();
            auto closed = run_until(ioc, [&] { return !client.is_open() && !server.is_open(); });
            if (!closed && result) {
                result = closed;
            }
            run_ready(ioc);  // stream handles closed by finished coroutines reach the strand
            o.client_stats = client.stats();
            o.server_stats = server.stats();
        }
        // The sessions are gone: their drivers, transports and every handler they parked
        // must be released once the loop ran what is left.
        auto released = run_until(ioc, [&] {
            return client_alive.expired() && server_alive.expired() && rs.use_count() == 1;
        });
        if (!released && result) {
            result = released << "\n  not released: client driver " << !client_alive.expired()
                              << ", server driver " << !server_alive.expired()
                              << ", run state references " << rs.use_count();
        }
        out = rs->out;
        rs->client_streams_done.reset();  // its timer belongs to the context
    }
    return result;
}

// ---- checks

inline bool is_prefix(bytes const& got, bytes const& sent) {
    return got.size() <= sent.size() && std::equal(got.begin(), got.end(), sent.begin());
}

/// True when this side did everything the scenario asks of it without an error.
inline bool part_complete(outcome const& o, scenario const& sc, side who) {
    for (std::size_t i = 0; i < sc.streams.size(); ++i) {
        auto const& s = o.streams[i];
        auto const& plan = sc.streams[i];
        if (who == side::server) {
            if (!s.accepted || s.down.write_ec || s.up.read_ec != asio::error::eof) {
                return false;
            }
            continue;
        }
        if (!s.opened) {
            return false;
        }
        if (plan.client_closes_after == 0) {
            if (s.up.write_ec || s.down.read_ec != asio::error::eof) {
                return false;
            }
            continue;
        }
        // Closed early by the client: its own write may end aborted, its read stops early.
        bool const write_ok = !s.up.write_ec || s.up.write_ec == asio::error::operation_aborted ||
                              s.up.write_ec == smux::error::stream_closed;
        bool const read_ok =
            s.down.received.size() >= std::min(plan.client_closes_after, plan.down) &&
            (!s.down.read_ec || s.down.read_ec == asio::error::eof);
        if (!write_ok || !read_ok) {
            return false;
        }
    }
    return true;
}

/** Checks one run against the rules in the header comment. `context` names the run (fault
    and setup) in failure messages. */
inline void check_outcome(outcome const& o, scenario const& sc, fault const& f,
                          std::string const& context) {
    SCOPED_TRACE(context);
    std::vector<bytes> ups;
    std::vector<bytes> downs;
    for (std::size_t i = 0; i < sc.streams.size(); ++i) {
        ups.push_back(payload(i, true, sc.streams[i].up));
        downs.push_back(payload(i, false, sc.streams[i].down));
    }
    error_code const client_end = o.client_end;
    error_code const server_end = o.server_end;
    bool const struck = o.client_struck || o.server_struck;
    // Errors a write may report besides its session's terminal error: the connection's own
    // write error, passed through.
    auto write_error_ok = [&](error_code ec, error_code terminal) {
        return !ec || ec == terminal || (f.ec && ec == f.ec) || ec == asio::error::broken_pipe;
    };

    for (std::size_t i = 0; i < sc.streams.size(); ++i) {
        SCOPED_TRACE("stream " + std::to_string(i));
        auto const& s = o.streams[i];
        auto const& plan = sc.streams[i];
        bool const early_close = plan.client_closes_after != 0;
        if (!s.opened) {
            EXPECT_EQ(s.open_ec, client_end) << "open failed with " << s.open_ec.message();
            EXPECT_FALSE(s.accepted) << "the server accepted a stream the client never got";
        } else {
            // client writes "up"
            EXPECT_TRUE(s.up.write_done && s.down.read_done);
            EXPECT_LE(s.up.written, ups[i].size());
            if (!s.up.write_ec) {
                EXPECT_EQ(s.up.written, ups[i].size());
            } else if (early_close) {
                EXPECT_TRUE(write_error_ok(s.up.write_ec, client_end) ||
                            s.up.write_ec == asio::error::operation_aborted ||
                            s.up.write_ec == smux::error::stream_closed)
                    << "client write: " << s.up.write_ec.message();
            } else {
                EXPECT_TRUE(write_error_ok(s.up.write_ec, client_end))
                    << "client write: " << s.up.write_ec.message() << ", session ended with "
                    << client_end.message();
            }
            // client reads "down"
            EXPECT_TRUE(is_prefix(s.down.received, downs[i]))
                << "the client read " << s.down.received.size()
                << " bytes that are not a prefix of the " << downs[i].size() << " sent (first "
                << "difference at " << first_difference(s.down.received, downs[i]) << ")";
            if (s.down.read_ec == asio::error::eof) {
                EXPECT_EQ(s.down.received.size(), downs[i].size())
                    << "end of file before the whole payload";
            } else if (s.down.read_ec) {
                EXPECT_EQ(s.down.read_ec, client_end)
                    << "client read: " << s.down.read_ec.message() << ", session ended with "
                    << client_end.message();
            } else {
                EXPECT_TRUE(early_close) << "a read part ended without an error";
            }
        }
        if (s.accepted) {
            EXPECT_TRUE(s.down.write_done && s.up.read_done);
            EXPECT_LE(s.down.written, downs[i].size());
            if (!s.down.write_ec) {
                EXPECT_EQ(s.down.written, downs[i].size());
            } else {
                EXPECT_TRUE(write_error_ok(s.down.write_ec, server_end))
                    << "server write: " << s.down.write_ec.message() << ", session ended with "
                    << server_end.message();
            }
            EXPECT_TRUE(is_prefix(s.up.received, ups[i]))
                << "the server read " << s.up.received.size()
                << " bytes that are not a prefix of the " << ups[i].size() << " sent (first "
                << "difference at " << first_difference(s.up.received, ups[i]) << ")";
            if (s.up.read_ec == asio::error::eof) {
                if (early_close) {
                    // The client closed early: FIN right after what its write reported sent.
                    bool const writer_stopped_cleanly =
                        !s.up.write_ec || s.up.write_ec == asio::error::operation_aborted ||
                        s.up.write_ec == smux::error::stream_closed;
                    EXPECT_TRUE(writer_stopped_cleanly)
                        << "end of file although the client's write failed with "
                        << s.up.write_ec.message();
                    EXPECT_EQ(s.up.received.size(), s.up.written)
                        << "the server got a different count than the client's write reported";
                } else {
                    EXPECT_EQ(s.up.received.size(), ups[i].size())
                        << "end of file before the whole payload";
                }
            } else {
                EXPECT_EQ(s.up.read_ec, server_end)
                    << "server read: " << s.up.read_ec.message() << ", session ended with "
                    << server_end.message();
            }
        } else if (s.opened) {
            EXPECT_TRUE(o.accept_ec) << "an opened stream was never accepted";
        }
    }
    if (o.accept_ec) {
        EXPECT_EQ(o.accept_ec, server_end) << "accept: " << o.accept_ec.message();
    }

    // The sessions' ends.
    EXPECT_TRUE(o.client_ended && o.server_ended);
    EXPECT_TRUE(o.client_finished && o.server_finished);
    EXPECT_TRUE(o.shutdown_done);
    if (o.shutdown_ec) {
        EXPECT_EQ(o.shutdown_ec, client_end) << "shutdown: " << o.shutdown_ec.message();
    }
    auto end_ok = [&](error_code ec) {
        return ec == smux::error::connection_closed || ec == asio::error::broken_pipe ||
               (f.ec && ec == f.ec);
    };
    EXPECT_TRUE(end_ok(client_end) || client_end == smux::error::session_closed)
        << "client session ended with " << client_end.message();
    EXPECT_TRUE(end_ok(server_end)) << "server session ended with " << server_end.message();

    bool const client_done = part_complete(o, sc, side::client);
    bool const server_done = part_complete(o, sc, side::server);
    if (!struck) {
        EXPECT_TRUE(client_done && server_done) << "the scenario failed without a fault";
        EXPECT_FALSE(o.shutdown_ec) << o.shutdown_ec.message();
        EXPECT_EQ(client_end, smux::error::session_closed) << client_end.message();
        EXPECT_EQ(server_end, smux::error::connection_closed) << server_end.message();
    } else {
        // A side cut short by the fault reports it: the injected error where it struck (both
        // ends for a reset), connection_closed where the connection ended (end of file, or
        // the other end closed it after its failure).
        auto expected_end = [&](side who) -> error_code {
            switch (f.what) {
                case fault::kind::eof:
                    return smux::error::connection_closed;
                case fault::kind::reset:
                    return f.ec;
                default:
                    return who == f.where ? f.ec : error_code(smux::error::connection_closed);
            }
        };
        // The client shuts down once its streams ended, even with errors: a write side that
        // broke first (the peer's end closed its transport) then ends the session with that
        // write error before the read side saw the end of file.
        bool const shut_down_on_write_error = o.shutdown_done && o.shutdown_ec == client_end &&
                                              client_end == asio::error::broken_pipe;
        if (!client_done && !shut_down_on_write_error) {
            EXPECT_EQ(client_end, expected_end(side::client))
                << "client session ended with " << client_end.message();
        }
        if (!server_done) {
            EXPECT_EQ(server_end, expected_end(side::server))
                << "server session ended with " << server_end.message();
        }
    }

    // Everything released.
    EXPECT_EQ(o.client_stats.streams_open, 0U);
    EXPECT_EQ(o.server_stats.streams_open, 0U);
    EXPECT_EQ(o.client_stats.buffered_bytes, 0U);
    EXPECT_EQ(o.server_stats.buffered_bytes, 0U);
}

/// A one-line account of a run, for failure messages.
inline std::string context_of(int version, scenario const& sc, transport_setup const& ts,
                              fault const& f) {
    std::ostringstream os;
    os << "v" << version << " scenario " << sc.name << ", " << describe(f);
    if (ts.read_size != 0 || ts.write_size != 0) {
        os << ", transport reads/writes of at most " << ts.read_size << "/" << ts.write_size
           << " bytes";
    }
    if (ts.read_delay.count() != 0 || ts.write_delay.count() != 0) {
        os << ", read/write delays "
           << std::chrono::duration_cast<std::chrono::microseconds>(ts.read_delay).count() << "/"
           << std::chrono::duration_cast<std::chrono::microseconds>(ts.write_delay).count()
           << " us";
    }
    return os.str();
}

/// Runs and checks once; returns false when the run failed (hang or check).
inline bool run_and_check(int version, scenario const& sc, transport_setup const& ts,
                          fault const& f, outcome& out) {
    std::string const ctx = context_of(version, sc, ts, f);
    auto r = run_scenario(version, sc, ts, f, out);
    EXPECT_TRUE(r) << ctx;
    if (!r) {
        return false;
    }
    check_outcome(out, sc, f, ctx);
    return !::testing::Test::HasFailure();
}

/// No scenario needs this many transport operations at one end: a loop that gets here never
/// reaches a run that completes.
inline constexpr std::size_t max_fault_point = 5000;

/** Runs the scenario with `f` at n = 0, stride, 2 * stride, ... until a run completes without
    reaching the fault; returns the number of runs. Stops at the first failing run (its context is
    in the failure message) so that one bug does not print thousands of failures. */
inline std::size_t fail_loop(int version, scenario const& sc, transport_setup const& ts, fault f,
                             std::size_t stride = 1) {
    std::size_t runs = 0;
    for (std::size_t n = 0; n < max_fault_point; n += stride) {
        f.n = n;
        outcome o;
        ++runs;
        if (!run_and_check(version, sc, ts, f, o)) {
            return runs;
        }
        if (!o.client_struck && !o.server_struck) {
            // The scenario needed fewer operations than n: done.
            EXPECT_GT(n, 0U) << "the fault at operation 0 never struck";
            return runs;
        }
    }
    ADD_FAILURE() << "no run completed within " << max_fault_point
                  << " operations: " << context_of(version, sc, ts, f);
    return runs;
}

}  // namespace smux_fault

#endif
