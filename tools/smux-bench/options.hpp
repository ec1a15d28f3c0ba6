#ifndef SMUX_TOOLS_BENCH_OPTIONS_HPP
#define SMUX_TOOLS_BENCH_OPTIONS_HPP

// The command line (sections 2 and 3 of the contract).

#include <chrono>
#include <cstdint>
#include <string>

namespace smux_bench {

struct server_options {
    std::string listen;
    int version = 1;
    bool raw = false;
    bool window_autotune = false;  ///< not in the contract: smux config stream_window_autotune
    int spin_us = 0;   ///< not in the contract: busy-poll before blocking (0: plain run())
    int threads = 1;   ///< not in the contract: threads, one io_context each (io_pool.hpp)
    bool tls = false;  ///< not in the contract: TLS on every connection (tls.hpp)
};

enum class bench_mode { bulk_up, bulk_down, rpc, open, idle };

/// The client's parameters, effective values once parsed (as reported in the result line).
struct client_options {
    std::string connect;
    std::string mode_name;
    bench_mode mode = bench_mode::rpc;
    int version = 1;
    bool raw = false;
    bool window_autotune = false;  ///< not in the contract: smux config stream_window_autotune
    int spin_us = 0;   ///< not in the contract: busy-poll before blocking (0: plain run())
    int threads = 1;   ///< not in the contract: threads, one io_context each (io_pool.hpp)
    bool tls = false;  ///< not in the contract: TLS on every connection (tls.hpp)
    int streams = 1;
    std::int64_t bytes = 268'435'456;  ///< bulk: per stream; 0 in other modes
    int size = 0;                      ///< rpc: message size; bulk: bytes per call; else 0
    double duration = 3;               ///< rpc, open, idle: seconds; 0 in bulk modes
    int conns = 1;                     ///< smux sessions carrying data; N with --raw

    [[nodiscard]] bool bulk() const noexcept {
        return mode == bench_mode::bulk_up || mode == bench_mode::bulk_down;
    }
    [[nodiscard]] std::chrono::nanoseconds duration_value() const noexcept {
        return std::chrono::nanoseconds(static_cast<std::int64_t>(duration * 1e9));
    }
};

/// What the command line asks for.
struct command_line {
    enum class action { server, client, exit } what = action::exit;
    int exit_code = 0;  ///< for action::exit: 0 after --help, 2 after a bad command line
    server_options server;
    client_options client;
};

/// Parses argv. A bad command line is reported on stderr (never stdout) and yields
/// action::exit with exit code 2; --help prints the usage on stdout and yields exit code 0.
[[nodiscard]] command_line parse_command_line(int argc, char const* const* argv);

}  // namespace smux_bench

#endif
