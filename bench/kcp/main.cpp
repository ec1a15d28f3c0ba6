// smux-kcp-bench: one KCP link measured end to end, the C++ twin of the Go kcpbench
// (bench/kcp/go/kcpbench) with the same command line:
//
//   smux-kcp-bench server --listen HOST:PORT [kcptun flags]
//   smux-kcp-bench client --connect HOST:PORT [--bytes N] [kcptun flags]
//
// The client sends an 8-byte header with N, then N pattern bytes, and waits for the
// server's 16-byte answer (bytes received, bytes that differed); it prints one JSON line with
// the goodput and its CPU time. The server prints its listening line, then one JSON line per
// conversation with its own figures. bench/kcp/compare.py runs both tools through udp-relay.
// Only the library's public API is used: smux::kcp::stream and smux::kcp::listener, no smux
// session on top. Everything runs on one thread.

#include "options.hpp"
#include "roles.hpp"

int main(int argc, char** argv) {
    auto const cmd = kcp_bench::parse_command_line(argc, argv);
    switch (cmd.what) {
        case kcp_bench::command_line::action::exit:
            return cmd.exit_code;
        case kcp_bench::command_line::action::server:
            return kcp_bench::run_server(cmd.server, cmd.kcp);
        case kcp_bench::command_line::action::client:
            return kcp_bench::run_client(cmd.client, cmd.kcp);
    }
    return 2;
}
