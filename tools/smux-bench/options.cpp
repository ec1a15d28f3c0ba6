#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <stdexcept>

#include "protocol.hpp"

namespace smux_bench {

namespace {

constexpr char const* description =
    "smux-bench: benchmark of the smux library (BENCH_PROTOCOL.md); any conforming client drives "
    "any conforming server.\n"
    "Threads: by default the server runs everything (acceptor, sessions, streams) on one thread "
    "with one io_context; the client runs its sessions and streams on one io_context thread, plus "
    "an idle watchdog thread that prints a failure line if the run exceeds its give-up time. "
    "--threads N runs N io_context threads instead, the connections spread over them.";

constexpr char const* server_threads =
    "Threads: one thread runs one io_context: the acceptor, every session and every stream "
    "handler. With --threads N, N threads run one io_context each; the acceptor is on the "
    "first, and each accepted connection, with its session and stream handlers, on the next "
    "one in turn.";

constexpr char const* client_threads =
    "Threads: one thread runs one io_context (sessions, streams, the mode; with --threads N, N "
    "threads run one io_context each, connection i and its streams on the (i mod N)-th); "
    "another thread "
    "only sleeps until the give-up time (120 s + 2 x duration + bulk bytes at 10 MB/s) and then "
    "prints a failure line.";

constexpr char const* spin_help =
    "beyond the contract: after the last handler, keep polling the event loop for this many "
    "microseconds before blocking (0: plain io_context::run(), what a program does)";

constexpr char const* threads_help =
    "beyond the contract: threads, each running its own io_context; connections are spread "
    "over them round-robin (a session and its streams stay on one thread)";

constexpr char const* tls_help =
    "beyond the contract: TLS 1.3 (TLS_AES_128_GCM_SHA256) on every TCP connection; the server "
    "makes a self-signed certificate at start, the client does not check it";

constexpr int max_threads = 256;

constexpr char const* modes_help =
    "bulk-up (SINK), bulk-down (SOURCE), rpc (ECHO), open (OPEN), idle (IDLE)";

/// A bad value found after CLI11 parsed the line.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void check_version(int version) {
    if (version != 1 && version != 2) {
        throw usage_error("--version must be 1 or 2");
    }
}

void finish_client(client_options& o, bool size_set) {
    check_version(o.version);
    if (o.streams < 1) {
        throw usage_error("--streams must be at least 1");
    }
    if (o.conns < 1) {
        throw usage_error("--conns must be at least 1");
    }
    if (o.bytes < 0) {
        throw usage_error("--bytes must not be negative");
    }
    if (!std::isfinite(o.duration) || o.duration < 0 || o.duration > 1e6) {
        throw usage_error("--duration must be between 0 and 1e6 seconds");
    }
    if (o.mode_name == "bulk-up") {
        o.mode = bench_mode::bulk_up;
    } else if (o.mode_name == "bulk-down") {
        o.mode = bench_mode::bulk_down;
    } else if (o.mode_name == "rpc") {
        o.mode = bench_mode::rpc;
    } else if (o.mode_name == "open") {
        o.mode = bench_mode::open;
    } else if (o.mode_name == "idle") {
        o.mode = bench_mode::idle;
    } else {
        throw usage_error("unknown --mode '" + o.mode_name + "' (" + modes_help + ")");
    }
    if (o.bulk()) {
        if (!size_set) {
            o.size = 65'536;
        }
    } else if (o.mode == bench_mode::rpc) {
        if (!size_set) {
            o.size = 64;
        }
    } else {
        o.size = 0;  // not used; reported as 0
    }
    if ((o.bulk() || o.mode == bench_mode::rpc) &&
        (o.size < 1 || static_cast<std::uint64_t>(o.size) > max_echo_size)) {
        throw usage_error("--size must be 1.." + std::to_string(max_echo_size));
    }
    // Effective parameters, as reported (section 3).
    if (o.bulk()) {
        o.duration = 0;
    } else {
        o.bytes = 0;
    }
    if (o.raw) {
        o.conns = o.streams;
    }
}

}  // namespace

command_line parse_command_line(int argc, char const* const* argv) {
    command_line out;
    CLI::App app{description, "smux-bench"};
    // Go's flag package keeps the last of repeated flags; do the same.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.require_subcommand(1);

    auto& so = out.server;
    auto* server = app.add_subcommand(
        "server", "serve bench streams until SIGTERM or SIGINT; prints {\"listening\":...} first");
    server->footer(server_threads);
    server->add_option("--listen", so.listen, "HOST:PORT to bind (port 0: the kernel picks)")
        ->required();
    server
        ->add_option("--version", so.version, "smux protocol version, 1 or 2 (ignored with --raw)")
        ->capture_default_str();
    server->add_flag("--raw", so.raw, "plain TCP: each accepted connection is one bench stream");
    server->add_flag("--window-autotune", so.window_autotune,
                     "beyond the contract: grow v2 stream windows while readers keep up "
                     "(smux config stream_window_autotune)");
    server->add_option("--spin-us", so.spin_us, spin_help)
        ->check(CLI::Range(0, 1'000'000))
        ->capture_default_str();
    server->add_option("--threads", so.threads, threads_help)
        ->check(CLI::Range(1, max_threads))
        ->capture_default_str();
    server->add_flag("--tls", so.tls, tls_help);

    auto& co = out.client;
    auto* client = app.add_subcommand("client", "run one measurement; prints one JSON line");
    client->footer(client_threads);
    client->add_option("--connect", co.connect, "HOST:PORT of a bench server")->required();
    client->add_option("--mode", co.mode_name, modes_help)->required();
    client->add_option("--version", co.version, "smux protocol version, 1 or 2")
        ->capture_default_str();
    client->add_flag("--raw", co.raw, "one TCP connection per stream instead of smux streams");
    client->add_flag("--window-autotune", co.window_autotune,
                     "beyond the contract: grow v2 stream windows while readers keep up "
                     "(smux config stream_window_autotune)");
    client->add_option("--spin-us", co.spin_us, spin_help)
        ->check(CLI::Range(0, 1'000'000))
        ->capture_default_str();
    client->add_option("--threads", co.threads, threads_help)
        ->check(CLI::Range(1, max_threads))
        ->capture_default_str();
    client->add_flag("--tls", co.tls, tls_help);
    client
        ->add_option("--streams", co.streams,
                     "parallel streams (bulk, rpc), openers (open), held streams (idle)")
        ->capture_default_str();
    client->add_option("--bytes", co.bytes, "bulk: bytes moved per stream")->capture_default_str();
    auto* size = client->add_option(
        "--size", co.size, "rpc: message size (default 64); bulk: bytes per call (default 65536)");
    client
        ->add_option("--duration", co.duration,
                     "rpc/open: seconds of load; idle: seconds to hold the streams")
        ->capture_default_str();
    client->add_option("--conns", co.conns, "smux sessions carrying the data streams")
        ->capture_default_str();

    try {
        app.parse(argc, argv);
        if (server->parsed()) {
            if (so.listen.empty()) {
                throw usage_error("--listen is required");
            }
            check_version(so.version);
            out.what = command_line::action::server;
        } else {
            if (co.connect.empty()) {
                throw usage_error("--connect is required");
            }
            finish_client(co, size->count() > 0);
            out.what = command_line::action::client;
        }
    } catch (CLI::ParseError const& e) {
        // Help goes to stdout (asked for); every error goes to stderr only.
        int const code = app.exit(e, std::cout, std::cerr);
        out.what = command_line::action::exit;
        out.exit_code = code == 0 ? 0 : 2;
    } catch (usage_error const& e) {
        std::cerr << "smux-bench: " << e.what() << "\nRun with --help for more information.\n";
        out.what = command_line::action::exit;
        out.exit_code = 2;
    }
    return out;
}

}  // namespace smux_bench
