// smux-bench: the benchmark tool of the smux library, implementing the contract of
// BENCH_PROTOCOL.md (command line, stream sub-protocol, STATS record, modes, result line), so
// that its client can drive any conforming server (the Go one built on xtaci/smux too) and its
// server can be driven by any conforming client.
//
//   smux-bench server --listen HOST:PORT [--version 1|2] [--raw]
//   smux-bench client --connect HOST:PORT --mode MODE [--version 1|2] [--raw]
//                     [--streams N] [--bytes B] [--size S] [--duration SEC] [--conns C]
//   beyond the contract, both: [--window-autotune] [--spin-us N (default 0: plain run())]
//                              [--threads N (default 1)] [--tls]
//
// Threads: by default the server runs on one thread (one io_context: acceptor, sessions,
// stream handlers). The client runs its sessions and streams on one io_context thread, plus a
// watchdog thread that sleeps until the give-up time. Pinning each process to one CPU
// (taskset) therefore pins all of its work. --threads N runs N io_context threads instead,
// each connection with all its streams on one of them (io_pool.hpp).

#include <csignal>

#include "client.hpp"
#include "options.hpp"
#include "process_stats.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
    auto const cmd = smux_bench::parse_command_line(argc, argv);
    switch (cmd.what) {
        case smux_bench::command_line::action::exit:
            return cmd.exit_code;
        case smux_bench::command_line::action::server:
            std::signal(SIGPIPE, SIG_IGN);
            smux_bench::raise_open_file_limit();
            return smux_bench::run_server(cmd.server);
        case smux_bench::command_line::action::client:
            std::signal(SIGPIPE, SIG_IGN);
            smux_bench::raise_open_file_limit();
            return smux_bench::run_client(cmd.client);
    }
    return 2;
}
