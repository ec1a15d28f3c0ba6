#ifndef SMUX_TOOLS_BENCH_SERVER_HPP
#define SMUX_TOOLS_BENCH_SERVER_HPP

// The bench server (section 2 of the contract).

#include "options.hpp"

namespace smux_bench {

/** Binds, prints the listening line, and serves until SIGTERM or SIGINT.

    One thread runs one io_context: the acceptor, every session (each on its strand) and every
    stream handler (a coroutine on the io_context's executor). With --threads N, N threads run
    one io_context each (io_pool.hpp): the acceptor on the first, each accepted connection with
    its session and handlers on the next one in turn. With --tls every connection does the
    server's TLS handshake first.
    Returns the process exit code: 0 after a signal, 1 when binding fails. */
int run_server(server_options const& opts);

}  // namespace smux_bench

#endif
