// The client: one KCP conversation, the header and the payload, then the server's count.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <variant>

#include "common.hpp"
#include "roles.hpp"

namespace kcp_bench {

namespace {

using bench_clock = std::chrono::steady_clock;

struct outcome {
    std::string error;  ///< empty: the transfer completed
    std::uint64_t server_bytes = 0;
    std::uint64_t server_mismatches = 0;
    double seconds = 0;
    cpu_times cpu;
    smux::kcp::stream_stats stats;
};

/// Sends the header and the payload, then reads the reply; returns an error or "".
asio::awaitable<std::string> transfer(smux::kcp::stream& s, client_options const& o, outcome& out) {
    std::array<std::byte, header_size> header{};
    put_u64(header, static_cast<std::uint64_t>(o.bytes));
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(header), as_tuple); ec) {
        co_return "writing the header: " + ec.message();
    }
    pattern const pat(o.chunk);
    auto const total = static_cast<std::uint64_t>(o.bytes);
    for (std::uint64_t at = 0; at < total;) {
        auto const piece =
            pat.slice(at, static_cast<std::size_t>(std::min<std::uint64_t>(o.chunk, total - at)));
        auto [ec, n] =
            co_await asio::async_write(s, asio::buffer(piece.data(), piece.size()), as_tuple);
        if (ec) {
            co_return "write at byte " + std::to_string(at) + ": " + ec.message();
        }
        at += n;
    }
    std::array<std::byte, reply_size> reply{};
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(reply), as_tuple); ec) {
        co_return "reading the reply: " + ec.message();
    }
    out.server_bytes = get_u64(std::span<std::byte const>(reply).first<8>());
    out.server_mismatches = get_u64(std::span<std::byte const>(reply).subspan<8, 8>());
    co_return "";
}

/// Times `transfer` from the first byte written to the reply read, under a give-up timer.
asio::awaitable<void> run(client_options const& o, smux::kcp::options const& kcp, outcome& out) {
    using namespace asio::experimental::awaitable_operators;
    auto const ex = co_await asio::this_coro::executor;
    smux::kcp::stream s(ex, kcp);
    if (auto [ec] = co_await s.async_connect(parse_endpoint(o.connect), as_tuple); ec) {
        out.error = "connect: " + ec.message();
        co_return;
    }
    asio::steady_timer give_up(ex, std::chrono::duration_cast<bench_clock::duration>(
                                       std::chrono::duration<double>(o.timeout_s)));
    auto const cpu0 = read_cpu_times();
    auto const t0 = bench_clock::now();
    auto r = co_await (transfer(s, o, out) || give_up.async_wait(as_tuple));
    out.seconds = std::chrono::duration<double>(bench_clock::now() - t0).count();
    out.cpu = read_cpu_times() - cpu0;
    if (r.index() == 0) {
        out.error = std::get<0>(r);
    } else {
        std::ostringstream why;
        why << "timed out after " << o.timeout_s << " s";
        out.error = why.str();
    }
    out.stats = s.stats();
    s.close();  // the server has every byte: nothing is left to flush but ACKs
}

json_object result_line(client_options const& o, smux::kcp::options const& kcp, outcome const& out,
                        bool ok) {
    double const mb = static_cast<double>(o.bytes) / 1e6;
    json_object line;
    line.add("tool", "kcpbench")
        .add("role", "client")
        .add("impl", impl_name())
        .add("bytes", o.bytes)
        .add("seconds", out.seconds)
        .add("mb_per_s", out.seconds > 0 ? mb / out.seconds : 0.0)
        .add("cpu_s", out.cpu.total())
        .add("cpu_user_s", out.cpu.user)
        .add("cpu_sys_s", out.cpu.sys)
        .add("cpu_s_per_mb", out.cpu.total() / mb)
        .add("server_bytes", out.server_bytes)
        .add("server_mismatches", out.server_mismatches)
        .add("chunk", static_cast<std::uint64_t>(o.chunk))
        .add("params", params_json(o.link, kcp))
        .add("kcp", stats_json(out.stats))
        .add("ok", ok)
        .add("error", out.error);
    return line;
}

}  // namespace

int run_client(client_options const& o, smux::kcp::options const& kcp) {
    outcome out;
    try {
        asio::io_context ioc(1);
        asio::co_spawn(ioc, run(o, kcp, out), [&out](std::exception_ptr e) {
            try {
                if (e) {
                    std::rethrow_exception(e);
                }
            } catch (std::exception const& x) {
                out.error = x.what();
            }
        });
        ioc.run();
    } catch (std::exception const& x) {
        out.error = x.what();
    }
    auto const total = static_cast<std::uint64_t>(o.bytes);
    if (out.error.empty() && (out.server_bytes != total || out.server_mismatches != 0)) {
        out.error = "the server counted " + std::to_string(out.server_bytes) + " bytes, " +
                    std::to_string(out.server_mismatches) + " not matching the pattern";
    }
    bool const ok = out.error.empty();
    std::cout << result_line(o, kcp, out, ok).str() << std::endl;
    return ok ? 0 : 1;
}

}  // namespace kcp_bench
