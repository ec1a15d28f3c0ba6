#include "client_modes.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include "net_util.hpp"
#include "process_stats.hpp"
#include "protocol.hpp"
#include "sync.hpp"
#include "tls.hpp"
#include "transport.hpp"

namespace smux_bench {

namespace {

std::string stream_error(char const* what, std::size_t i, std::string const& message) {
    return std::string(what) + " " + std::to_string(i) + ": " + message;
}

/** Releases all workers at once and records the start of the clock. Every worker calls
    `wait` exactly once (or `withdraw` when it will not run); `release` starts the clock once
    all of them are waiting. */
class start_gate {
  public:
    explicit start_gate(std::size_t workers) : ready_(workers) {}

    asio::awaitable<bench_clock::time_point> wait() {
        ready_.count_down();
        co_await open_.wait();
        co_return clock_;
    }
    void withdraw() { ready_.count_down(); }

    asio::awaitable<bench_clock::time_point> release() {
        co_await ready_.wait();
        clock_ = bench_clock::now();
        open_.set();
        co_return clock_;
    }

  private:
    countdown ready_;
    event open_;
    bench_clock::time_point clock_{};
};

/// The latest of `finished` relative to `from` (unset entries are skipped): the measured
/// interval.
std::chrono::nanoseconds latest(bench_clock::time_point from,
                                std::vector<bench_clock::time_point> const& finished) {
    std::chrono::nanoseconds d{0};
    for (auto const& t : finished) {
        if (t != bench_clock::time_point{} && t - from > d) {
            d = std::chrono::duration_cast<std::chrono::nanoseconds>(t - from);
        }
    }
    return d;
}

bench_clock::duration to_clock(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<bench_clock::duration>(d);
}

/// Opens the streams of bulk and rpc before the clock; failed opens are counted and leave an
/// empty entry.
template <class Transport>
asio::awaitable<std::vector<std::optional<typename Transport::stream_type>>> open_all(
    Transport& t, std::size_t n, error_log& errs) {
    std::vector<std::optional<typename Transport::stream_type>> streams(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto [ec, s] = co_await t.open(i, false);
        if (ec) {
            errs.add(stream_error("stream", i, "open: " + ec.message()));
            continue;
        }
        streams[i].emplace(std::move(s));
    }
    co_return streams;
}

/// A worker's completion: an exception (out of memory) counts as an error of its stream.
struct worker_done {
    error_log* errs;
    countdown* done;
    std::size_t index;

    void operator()(std::exception_ptr e) const {
        if (e) {
            std::string what = "exception";
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                what = ex.what();
            } catch (...) {
            }
            errs->add(stream_error("stream", index, what));
        }
        done->count_down();
    }
};

// ---- bulk

struct bulk_run {
    bulk_run(std::size_t n, std::int64_t bytes, int size)
        : gate(n), done(n), moved(n), finished(n), want(bytes), call_size(size) {}

    start_gate gate;
    countdown done;
    std::vector<std::int64_t> moved;
    std::vector<bench_clock::time_point> finished;
    std::vector<unsigned char> payload;  // bulk-up: shared, writers only read it
    std::int64_t want;
    int call_size;
};

/// Uploads `want` bytes in `payload`-sized writes and checks the server's count; returns the
/// bytes sent.
template <class Stream>
asio::awaitable<std::int64_t> sink_stream(Stream& s, bulk_run& run, std::size_t i,
                                          error_log& errs) {
    auto const hdr = encode_header(tag::sink, static_cast<std::uint64_t>(run.want));
    auto [hec, h] = co_await asio::async_write(s, asio::buffer(hdr), as_tuple);
    if (hec) {
        errs.add(stream_error("stream", i, "write header: " + hec.message()));
        co_return 0;
    }
    std::int64_t sent = 0;
    auto const chunk = static_cast<std::int64_t>(run.payload.size());
    while (sent < run.want) {
        auto const n = static_cast<std::size_t>(std::min(chunk, run.want - sent));
        auto [ec, k] = co_await asio::async_write(s, asio::buffer(run.payload.data(), n), as_tuple);
        sent += static_cast<std::int64_t>(k);
        if (ec) {
            errs.add(stream_error("stream", i,
                                  "write after " + std::to_string(sent) + " of " +
                                      std::to_string(run.want) + " bytes: " + ec.message()));
            co_return sent;
        }
    }
    std::array<unsigned char, 8> reply{};
    auto [rec, r] = co_await asio::async_read(s, asio::buffer(reply), as_tuple);
    if (rec) {
        errs.add(stream_error("stream", i, "read count: " + rec.message()));
        co_return sent;
    }
    if (auto const got = get_u64le(reply.data()); got != static_cast<std::uint64_t>(run.want)) {
        errs.add(stream_error(
            "stream", i,
            "server counted " + std::to_string(got) + " bytes, sent " + std::to_string(run.want)));
    }
    co_return sent;
}

/// Downloads `want` bytes in reads of at most `buf.size()` bytes; returns the bytes read.
template <class Stream>
asio::awaitable<std::int64_t> source_stream(Stream& s, bulk_run& run, std::span<unsigned char> buf,
                                            std::size_t i, error_log& errs) {
    auto const hdr = encode_header(tag::source, static_cast<std::uint64_t>(run.want));
    auto [hec, h] = co_await asio::async_write(s, asio::buffer(hdr), as_tuple);
    if (hec) {
        errs.add(stream_error("stream", i, "write header: " + hec.message()));
        co_return 0;
    }
    std::int64_t got = 0;
    auto const chunk = static_cast<std::int64_t>(buf.size());
    while (got < run.want) {
        auto const n = static_cast<std::size_t>(std::min(chunk, run.want - got));
        auto [ec, k] = co_await s.async_read_some(asio::buffer(buf.data(), n), as_tuple);
        got += static_cast<std::int64_t>(k);
        if (ec && got < run.want) {
            errs.add(stream_error("stream", i,
                                  "read after " + std::to_string(got) + " of " +
                                      std::to_string(run.want) + " bytes: " + ec.message()));
            co_return got;
        }
    }
    co_return got;
}

template <class Stream>
asio::awaitable<void> bulk_worker(Stream s, bulk_run& run, bool up, std::size_t i,
                                  error_log& errs) {
    std::vector<unsigned char> buf;
    if (!up) {
        buf.resize(static_cast<std::size_t>(run.call_size));
    }
    co_await run.gate.wait();
    if (up) {
        run.moved[i] = co_await sink_stream(s, run, i, errs);
    } else {
        run.moved[i] = co_await source_stream(s, run, buf, i, errs);
    }
    run.finished[i] = bench_clock::now();
    close_stream(s);
}

// ---- rpc

struct rpc_run {
    rpc_run(std::size_t n, int size, std::chrono::nanoseconds d)
        : gate(n),
          done(n),
          payload(static_cast<std::size_t>(size)),
          samples(n),
          finished(n),
          duration(to_clock(d)) {}

    start_gate gate;
    countdown done;
    std::vector<unsigned char> payload;  // shared: writers only read it
    std::vector<std::vector<std::int64_t>> samples;
    std::vector<bench_clock::time_point> finished;
    bench_clock::duration duration;
};

template <class Stream>
asio::awaitable<void> rpc_worker(Stream& s, rpc_run& run, std::size_t i, error_log& errs) {
    std::vector<unsigned char> reply(run.payload.size());
    std::vector<std::int64_t> mine;
    mine.reserve(1024);
    auto const clock = co_await run.gate.wait();
    auto const end = clock + run.duration;
    // Each round trip's end time is the next one's start: one clock read per trip.
    auto t = bench_clock::now();
    run.finished[i] = clock;
    while (t < end) {
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(run.payload), as_tuple);
        if (wec) {
            errs.add(stream_error("stream", i, "write: " + wec.message()));
            break;
        }
        auto [rec, r] = co_await asio::async_read(s, asio::buffer(reply), as_tuple);
        if (rec) {
            errs.add(stream_error("stream", i, "read: " + rec.message()));
            break;
        }
        auto const now = bench_clock::now();
        mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - t).count());
        run.finished[i] = now;
        t = now;
    }
    run.samples[i] = std::move(mine);
}

// ---- open

struct open_run {
    open_run(std::size_t n, std::chrono::nanoseconds d)
        : gate(n), done(n), samples(n), finished(n), duration(to_clock(d)) {}

    start_gate gate;
    countdown done;
    std::vector<std::vector<std::int64_t>> samples;
    std::vector<bench_clock::time_point> finished;
    bench_clock::duration duration;
};

using open_message = std::array<unsigned char, header_size + 1>;

/// One OPEN stream: open, send header and payload, read the echoed byte, read the server's
/// close, close. An error message, empty on success.
template <class Transport>
asio::awaitable<std::string> open_once(Transport& t, std::size_t i, open_message const& msg) {
    auto [oec, s] = co_await t.open(i, true);
    if (oec) {
        co_return "open: " + oec.message();
    }
    std::string failure;
    std::array<unsigned char, 2> reply{};
    if (auto [wec, w] = co_await asio::async_write(s, asio::buffer(msg), as_tuple); wec) {
        failure = "write: " + wec.message();
    } else if (auto [rec, r] =
                   co_await asio::async_read(s, asio::buffer(reply.data(), 1), as_tuple);
               rec) {
        failure = "read reply: " + rec.message();
    } else {
        auto [eec, n] = co_await s.async_read_some(asio::buffer(reply), as_tuple);
        if (n > 0) {
            failure = "more than the 1-byte reply before end-of-stream";
        } else if (!is_end_of_stream(eec)) {
            failure = "read end-of-stream: " + (eec ? eec.message() : std::string("no error"));
        }
    }
    close_stream(s);
    co_return failure;
}

template <class Transport>
asio::awaitable<void> open_worker(Transport& t, open_run& run, std::size_t i, error_log& errs) {
    // Header and the 1-byte payload go out in one 10-byte write.
    open_message msg{};
    auto const hdr = encode_header(tag::open, 1);
    std::copy(hdr.begin(), hdr.end(), msg.begin());
    std::vector<std::int64_t> mine;
    mine.reserve(1024);
    auto const clock = co_await run.gate.wait();
    auto const end = clock + run.duration;
    auto t0 = bench_clock::now();
    run.finished[i] = clock;
    while (t0 < end) {
        if (auto failure = co_await open_once(t, i, msg); !failure.empty()) {
            // An opener stops at its first failure; a dead session would otherwise spin and
            // count errors until the end of the duration.
            errs.add(stream_error("opener", i, failure));
            break;
        }
        auto const now = bench_clock::now();
        mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0).count());
        run.finished[i] = now;
        t0 = now;
    }
    run.samples[i] = std::move(mine);
}

void gather_samples(mode_result& res, std::vector<std::vector<std::int64_t>>& samples) {
    std::size_t total = 0;
    for (auto const& s : samples) {
        total += s.size();
    }
    res.samples_ns.reserve(total);
    for (auto& s : samples) {
        res.samples_ns.insert(res.samples_ns.end(), s.begin(), s.end());
        s = {};
    }
    res.ops = static_cast<std::int64_t>(total);
}

}  // namespace

template <class Transport>
asio::awaitable<mode_result> run_bulk(Transport& t, client_options const& o, error_log& errs,
                                      bool up) {
    auto const n = static_cast<std::size_t>(o.streams);
    auto streams = co_await open_all(t, n, errs);
    bulk_run run(n, o.bytes, o.size);
    if (up) {
        run.payload.resize(static_cast<std::size_t>(o.size));
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!streams[i]) {
            run.gate.withdraw();
            run.done.count_down();
            continue;
        }
        asio::co_spawn(t.executor_for(i), bulk_worker(std::move(*streams[i]), run, up, i, errs),
                       worker_done{&errs, &run.done, i});
    }
    streams.clear();
    auto const clock = co_await run.gate.release();
    co_await run.done.wait();

    mode_result res;
    res.elapsed = latest(clock, run.finished);
    for (auto const m : run.moved) {
        res.total_bytes += m;
    }
    co_return res;
}

template <class Transport>
asio::awaitable<mode_result> run_rpc(Transport& t, client_options const& o, error_log& errs) {
    auto const n = static_cast<std::size_t>(o.streams);
    auto streams = co_await open_all(t, n, errs);
    auto const hdr = encode_header(tag::echo, static_cast<std::uint64_t>(o.size));
    for (std::size_t i = 0; i < n; ++i) {
        if (!streams[i]) {
            continue;
        }
        auto [ec, w] = co_await asio::async_write(*streams[i], asio::buffer(hdr), as_tuple);
        if (ec) {
            errs.add(stream_error("stream", i, "write header: " + ec.message()));
            close_stream(*streams[i]);
            streams[i].reset();
        }
    }

    rpc_run run(n, o.size, o.duration_value());
    for (std::size_t i = 0; i < n; ++i) {
        if (!streams[i]) {
            run.gate.withdraw();
            run.done.count_down();
            continue;
        }
        asio::co_spawn(t.executor_for(i), rpc_worker(*streams[i], run, i, errs),
                       worker_done{&errs, &run.done, i});
    }
    auto const clock = co_await run.gate.release();
    co_await run.done.wait();
    // Closed after the clock stopped, so teardown does not load the measured interval.
    for (auto& s : streams) {
        if (s) {
            close_stream(*s);
        }
    }

    mode_result res;
    res.elapsed = latest(clock, run.finished);
    gather_samples(res, run.samples);
    co_return res;
}

template <class Transport>
asio::awaitable<mode_result> run_open(Transport& t, client_options const& o, error_log& errs) {
    auto const n = static_cast<std::size_t>(o.streams);
    open_run run(n, o.duration_value());
    for (std::size_t i = 0; i < n; ++i) {
        asio::co_spawn(t.executor_for(i), open_worker(t, run, i, errs),
                       worker_done{&errs, &run.done, i});
    }
    auto const clock = co_await run.gate.release();
    co_await run.done.wait();

    mode_result res;
    res.elapsed = latest(clock, run.finished);
    gather_samples(res, run.samples);
    co_return res;
}

template <class Transport>
asio::awaitable<mode_result> run_idle(Transport& t, client_options const& o, error_log& errs) {
    using namespace asio::experimental::awaitable_operators;
    using stream_type = typename Transport::stream_type;
    auto const n = static_cast<std::size_t>(o.streams);
    mode_result res;
    res.rss_base = read_rss_bytes();
    auto const start = bench_clock::now();

    // All streams are opened and sent their header first, then all acks are read, so the
    // server sees the whole batch at once as in a real fan-in.
    auto const hdr = encode_header(tag::idle, 0);
    std::vector<std::pair<std::size_t, stream_type>> opened;
    opened.reserve(n);
    t.reserve_held(n);  // no growth copies of the held table while measuring
    for (std::size_t i = 0; i < n; ++i) {
        auto [ec, s] = co_await t.open(i, false);
        if (ec) {
            errs.add(stream_error("stream", i, "open: " + ec.message()));
            continue;
        }
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(hdr), as_tuple);
        if (wec) {
            errs.add(stream_error("stream", i, "write header: " + wec.message()));
            close_stream(s);
            continue;
        }
        opened.emplace_back(i, std::move(s));
    }
    for (auto& [i, s] : opened) {
        std::array<unsigned char, 1> ack{};
        auto r =
            co_await (asio::async_read(s, asio::buffer(ack), as_tuple) || sleep_for(ack_timeout));
        if (r.index() == 1) {
            errs.add(stream_error("stream", i, "read ack: no ack within 30 s"));
            close_stream(s);
        } else if (auto const ec = std::get<0>(std::get<0>(r))) {
            errs.add(stream_error("stream", i, "read ack: " + ec.message()));
            close_stream(s);
        } else if (ack[0] != idle_ack) {
            errs.add(stream_error(
                "stream", i,
                "ack is " + std::to_string(ack[0]) + ", want " + std::to_string(idle_ack)));
            close_stream(s);
        } else {
            t.hold(std::move(s));
        }
    }
    decltype(opened)().swap(opened);  // release the table: only held streams should count
    res.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - start);

    co_await sleep_for(to_clock(o.duration_value()));
    res.rss_idle = read_rss_bytes();
    co_return res;
}

#define SMUX_BENCH_INSTANTIATE(T)                                                             \
    template asio::awaitable<mode_result> run_bulk<T>(T&, client_options const&, error_log&,  \
                                                      bool);                                  \
    template asio::awaitable<mode_result> run_rpc<T>(T&, client_options const&, error_log&);  \
    template asio::awaitable<mode_result> run_open<T>(T&, client_options const&, error_log&); \
    template asio::awaitable<mode_result> run_idle<T>(T&, client_options const&, error_log&);

SMUX_BENCH_INSTANTIATE(smux_transport<tcp_dialer>)
SMUX_BENCH_INSTANTIATE(smux_transport<tls_dialer>)
SMUX_BENCH_INSTANTIATE(raw_transport<tcp_dialer>)
SMUX_BENCH_INSTANTIATE(raw_transport<tls_dialer>)

#undef SMUX_BENCH_INSTANTIATE

}  // namespace smux_bench
