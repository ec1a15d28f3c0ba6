// The server: sinks every accepted KCP conversation and answers with its count.

#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <exception>
#include <iostream>
#include <smux/kcp/asio/listener.hpp>
#include <vector>

#include "common.hpp"
#include "roles.hpp"

namespace kcp_bench {

namespace {

using bench_clock = std::chrono::steady_clock;

/// Read call size: what a UDP batch of the client's window may deliver at once.
constexpr std::size_t read_size = 64 * 1024;

struct sink_result {
    std::uint64_t expected = 0;  ///< from the header
    std::uint64_t received = 0;  ///< payload bytes
    std::uint64_t mismatches = 0;
    std::string error;
};

/// Reads the header and as many payload bytes as it announces, checking them.
asio::awaitable<void> receive_all(smux::kcp::stream& s, sink_result& r) {
    std::array<std::byte, header_size> header{};
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(header), as_tuple); ec) {
        r.error = "reading the header: " + ec.message();
        co_return;
    }
    r.expected = get_u64(header);
    pattern const pat(read_size);
    std::vector<std::byte> buf(read_size);
    while (r.received < r.expected) {
        auto const want =
            static_cast<std::size_t>(std::min<std::uint64_t>(read_size, r.expected - r.received));
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf.data(), want), as_tuple);
        if (ec) {
            r.error = "read after " + std::to_string(r.received) + " of " +
                      std::to_string(r.expected) + " bytes: " + ec.message();
            co_return;
        }
        r.mismatches += pat.mismatches(r.received, std::span(buf).first(n));
        r.received += n;
    }
}

asio::awaitable<void> send_reply(smux::kcp::stream& s, sink_result& r) {
    std::array<std::byte, reply_size> reply{};
    put_u64(std::span(reply).first<8>(), r.received);
    put_u64(std::span(reply).subspan<8, 8>(), r.mismatches);
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(reply), as_tuple); ec) {
        r.error = "writing the reply: " + ec.message();
    }
}

json_object done_line(server_options const& o, smux::kcp::options const& kcp,
                      smux::kcp::stream_stats const& stats, sink_result const& r, double seconds,
                      cpu_times const& cpu) {
    double const mb = static_cast<double>(r.received) / 1e6;
    json_object line;
    line.add("tool", "kcpbench")
        .add("role", "server")
        .add("impl", impl_name())
        .add("conv", static_cast<std::uint64_t>(stats.conv))
        .add("bytes", r.received)
        .add("expected", r.expected)
        .add("mismatches", r.mismatches)
        .add("seconds", seconds)
        .add("cpu_s", cpu.total())
        .add("cpu_user_s", cpu.user)
        .add("cpu_sys_s", cpu.sys)
        .add("cpu_s_per_mb", mb > 0 ? cpu.total() / mb : 0.0)
        .add("params", params_json(o.link, kcp))
        .add("kcp", stats_json(stats))
        .add("ok", r.error.empty() && r.mismatches == 0)
        .add("error", r.error);
    return line;
}

/** One conversation: from its accept to the reply, timed and with the process's CPU time
    (one conversation at a time in a bench run, so the process's time is the conversation's),
    then kept for `linger` so KCP can resend a lost reply. */
asio::awaitable<void> sink(smux::kcp::stream s, server_options const& o,
                           smux::kcp::options const& kcp) {
    auto const cpu0 = read_cpu_times();
    auto const t0 = bench_clock::now();
    sink_result r;
    co_await receive_all(s, r);
    if (r.error.empty()) {
        co_await send_reply(s, r);
    }
    double const seconds = std::chrono::duration<double>(bench_clock::now() - t0).count();
    auto const cpu = read_cpu_times() - cpu0;
    std::cout << done_line(o, kcp, s.stats(), r, seconds, cpu).str() << std::endl;
    if (r.error.empty()) {
        asio::steady_timer linger(co_await asio::this_coro::executor,
                                  std::chrono::duration_cast<bench_clock::duration>(
                                      std::chrono::duration<double>(o.linger_s)));
        auto [ec] = co_await linger.async_wait(as_tuple);
        (void)ec;
    }
    s.close();
}

asio::awaitable<void> accept_loop(smux::kcp::listener& l, server_options const& o,
                                  smux::kcp::options const& kcp) {
    auto const ex = co_await asio::this_coro::executor;
    for (;;) {
        auto [ec, s] = co_await l.async_accept(as_tuple);
        if (ec) {
            co_return;  // closed
        }
        asio::co_spawn(ex, sink(std::move(s), o, kcp), [](std::exception_ptr e) {
            try {
                if (e) {
                    std::rethrow_exception(e);
                }
            } catch (std::exception const& x) {
                std::cerr << "smux-kcp-bench server: " << x.what() << '\n';
            }
        });
    }
}

}  // namespace

int run_server(server_options const& o, smux::kcp::options const& kcp) {
    try {
        asio::io_context ioc(1);
        smux::kcp::listener l(ioc.get_executor(), parse_endpoint(o.listen), kcp);
        // Installed before the listening line, so a script may signal as soon as it read it.
        asio::signal_set stop(ioc, SIGINT, SIGTERM);
        stop.async_wait([&ioc, &l](asio::error_code ec, int) {
            if (!ec) {
                l.close();
                ioc.stop();
            }
        });
        json_object listening;
        listening.add("listening", format_endpoint(l.local_endpoint()))
            .add("pid", static_cast<std::int64_t>(::getpid()));
        std::cout << listening.str() << std::endl;
        asio::co_spawn(ioc, accept_loop(l, o, kcp), asio::detached);
        ioc.run();
        return 0;
    } catch (std::exception const& e) {
        std::cerr << "smux-kcp-bench server: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace kcp_bench
