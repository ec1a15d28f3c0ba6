#include "client.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <smux/smux.hpp>
#include <string>
#include <thread>

#include "client_modes.hpp"
#include "dialer.hpp"
#include "io_pool.hpp"
#include "net_util.hpp"
#include "process_stats.hpp"
#include "result.hpp"
#include "tls.hpp"
#include "transport.hpp"

namespace smux_bench {

namespace {

// ---- the one result line

std::mutex output_mutex;
bool line_printed = false;

/// Prints the run's result line unless one was printed already; true if this call printed it.
bool emit_line(std::string const& line) {
    std::lock_guard lock(output_mutex);
    if (line_printed) {
        return false;
    }
    line_printed = true;
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    return true;
}

/** The client's second thread. It sleeps until the give-up time; then, unless the run printed
    its line, it prints a failure line and ends the process (the io_context threads may be
    stuck, so it does not wait for them). Once the line is printed, it bounds the wind-down of
    the sessions: it stops the io_contexts after `drain` if they have not run out of work by
    then. */
class watchdog {
  public:
    watchdog(client_options const& o, std::chrono::duration<double> give_up)
        : thread_([this, o, give_up] { run(o, give_up); }) {}
    watchdog(watchdog const&) = delete;
    watchdog& operator=(watchdog const&) = delete;
    ~watchdog() { stop(); }

    /// The line is printed: stop `pool` after `d` unless `stop` comes first.
    void drain(io_pool& pool, std::chrono::milliseconds d) {
        {
            std::lock_guard lock(mutex_);
            pool_ = &pool;
            drain_deadline_ = std::chrono::steady_clock::now() + d;
        }
        cv_.notify_one();
    }

    /// Ends the thread (before the pool given to `drain` is destroyed).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        cv_.notify_one();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

  private:
    void run(client_options const& o, std::chrono::duration<double> give_up) {
        std::unique_lock lock(mutex_);
        auto const deadline =
            std::chrono::steady_clock::now() +
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(give_up);
        if (!cv_.wait_until(lock, deadline, [this] { return stopped_ || pool_ != nullptr; })) {
            char message[64];
            std::snprintf(message, sizeof message, "gave up after %.0f s", give_up.count());
            if (emit_line(failure_line(o, 1, message))) {
                std::_Exit(1);
            }
            cv_.wait(lock, [this] { return stopped_ || pool_ != nullptr; });
        }
        if (!cv_.wait_until(lock, drain_deadline_, [this] { return stopped_; })) {
            pool_->stop();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopped_ = false;
    io_pool* pool_ = nullptr;
    std::chrono::steady_clock::time_point drain_deadline_{};
    std::thread thread_;  // last: starts once the members above exist
};

std::chrono::duration<double> give_up_time(client_options const& o) {
    double seconds = 120 + 2 * o.duration;
    if (o.bulk()) {
        // Bytes to move at 10 MB/s, capped so absurd --bytes cannot overflow.
        seconds +=
            std::min(static_cast<double>(o.streams) * static_cast<double>(o.bytes) / 10e6, 1e8);
    }
    return std::chrono::duration<double>(seconds);
}

struct run_outcome {
    std::string line;
    bool ok = false;
};

run_outcome failed(client_options const& o, std::int64_t errors, std::string const& message) {
    return {failure_line(o, errors, message), false};
}

// ---- the run (section 5)

template <class Transport>
asio::awaitable<run_outcome> run_with(Transport& t, client_options const& o) {
    error_log errs;
    if (auto err = co_await t.connect(); !err.empty()) {
        co_return failed(o, 1, err);
    }
    auto [before_err, before] = co_await t.query_stats();
    if (!before_err.empty()) {
        co_return failed(o, 1, before_err);
    }

    auto const cpu0 = read_cpu_times().total_us();
    mode_result res;
    switch (o.mode) {
        case bench_mode::bulk_up:
            res = co_await run_bulk(t, o, errs, true);
            break;
        case bench_mode::bulk_down:
            res = co_await run_bulk(t, o, errs, false);
            break;
        case bench_mode::rpc:
            res = co_await run_rpc(t, o, errs);
            break;
        case bench_mode::open:
            res = co_await run_open(t, o, errs);
            break;
        case bench_mode::idle:
            res = co_await run_idle(t, o, errs);
            break;
    }
    auto const cpu1 = read_cpu_times().total_us();

    // In idle mode the streams are still held here, so this query is also the idle sample.
    auto [after_err, after] = co_await t.query_stats();
    auto const held = static_cast<std::int64_t>(t.held());
    t.close_all();
    if (!after_err.empty()) {
        errs.add(after_err);
        co_return failed(o, errs.count(), errs.first());
    }
    if (o.mode == bench_mode::idle && after.active_streams < held) {
        errs.add("server reports " + std::to_string(after.active_streams) +
                 " active streams, client holds " + std::to_string(held));
    }

    json_line j;
    add_param_fields(j, o);
    double const secs = std::chrono::duration<double>(res.elapsed).count();
    switch (o.mode) {
        case bench_mode::bulk_up:
        case bench_mode::bulk_down:
            j.integer("total_bytes", res.total_bytes);
            j.number("mb_per_s", rate(static_cast<double>(res.total_bytes) / 1e6, secs),
                     rate_decimals);
            break;
        case bench_mode::rpc:
            j.integer("ops", res.ops);
            j.number("ops_per_s", rate(static_cast<double>(res.ops), secs), rate_decimals);
            break;
        case bench_mode::open:
            j.integer("ops", res.ops);
            j.number("streams_per_s", rate(static_cast<double>(res.ops), secs), rate_decimals);
            break;
        case bench_mode::idle:
            break;
    }
    if (o.mode == bench_mode::rpc || o.mode == bench_mode::open) {
        add_latency_fields(j, res.samples_ns);
    }
    if (o.mode == bench_mode::idle) {
        auto const n = static_cast<double>(o.streams);
        j.integer("held_streams", held);
        j.integer("client_rss_base", res.rss_base);
        j.integer("client_rss_idle", res.rss_idle);
        j.number("client_rss_per_stream", static_cast<double>(res.rss_idle - res.rss_base) / n,
                 rate_decimals);
        j.integer("server_rss_base", before.rss_bytes);
        j.integer("server_rss_idle", after.rss_bytes);
        j.number("server_rss_per_stream",
                 static_cast<double>(after.rss_bytes - before.rss_bytes) / n, rate_decimals);
        j.integer("server_active_streams", after.active_streams);
    }
    j.number("elapsed_s", secs, elapsed_decimals);
    j.number("client_cpu_s", static_cast<double>(cpu1 - cpu0) / 1e6, cpu_decimals);
    j.number("server_cpu_s", static_cast<double>(after.cpu_us() - before.cpu_us()) / 1e6,
             cpu_decimals);
    j.integer("server_rss", after.rss_bytes);
    j.integer("client_rss", read_rss_bytes());
    bool const ok = errs.count() == 0;
    j.boolean("ok", ok);
    j.integer("errors", errs.count());
    if (!ok) {
        j.str("error", errs.first());
    }
    co_return run_outcome{j.finish(), ok};
}

template <class Dialer>
asio::awaitable<run_outcome> run_over(io_pool& pool, Dialer dialer, client_options const& o) {
    if (o.raw) {
        raw_transport<Dialer> t(pool, std::move(dialer));
        co_return co_await run_with(t, o);
    }
    smux::config cfg;
    cfg.version = o.version;
    cfg.stream_window_autotune = o.window_autotune;
    smux_transport<Dialer> t(pool, std::move(dialer), cfg, o.conns);
    co_return co_await run_with(t, o);
}

asio::awaitable<run_outcome> run(io_pool& pool, client_options const& o) {
    tcp::resolver::results_type endpoints;
    try {
        endpoints = resolve(pool.context(0), o.connect, false);
    } catch (std::exception const& e) {
        co_return failed(o, 1, std::string("connect: ") + e.what());
    }
    if (!o.tls) {
        co_return co_await run_over(pool, tcp_dialer(std::move(endpoints)), o);
    }
    std::optional<asio::ssl::context> ctx;
    try {
        ctx.emplace(make_client_tls_context());
    } catch (std::exception const& e) {
        co_return failed(o, 1, std::string("TLS: ") + e.what());
    }
    co_return co_await run_over(pool, tls_dialer(std::move(endpoints), *ctx), o);
}

}  // namespace

int run_client(client_options const& opts) {
    watchdog dog(opts, give_up_time(opts));
    int status = 1;
    io_pool pool(opts.threads);
    auto on_done = [&](std::exception_ptr e, run_outcome outcome) {
        if (e) {
            std::string what = "exception";
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                what = ex.what();
            } catch (...) {
            }
            outcome = failed(opts, 1, what);
        }
        if (emit_line(outcome.line)) {
            status = outcome.ok ? 0 : 1;
        }
        pool.release();
        dog.drain(pool, std::chrono::milliseconds(1000));
    };
    asio::co_spawn(pool.context(0), run(pool, opts), on_done);
    pool.run(std::chrono::microseconds(opts.spin_us));
    dog.stop();
    return status;
}

}  // namespace smux_bench
