#ifndef SMUX_TOOLS_BENCH_CLIENT_HPP
#define SMUX_TOOLS_BENCH_CLIENT_HPP

// The bench client (sections 3, 5 and 6 of the contract).

#include "options.hpp"

namespace smux_bench {

/** Runs one measurement and prints exactly one JSON line on stdout, also when it fails.

    One thread runs one io_context: the sessions (each on its strand), the streams' coroutines
    and the mode's control flow (on the io_context's executor; see run_server for why not on
    the strands). With --threads N, N threads run one io_context each (io_pool.hpp): data
    session j (raw: connection j) and the coroutines of its streams on context j mod N, the
    mode's control flow and the control session on context 0.
    A second thread only sleeps until the give-up time (120 s + 2 x duration + bulk bytes at
    10 MB/s); if the run has not printed its line by then, it prints a failure line and ends
    the process with status 1. Returns 0 when the run was ok, 1 otherwise. */
int run_client(client_options const& opts);

}  // namespace smux_bench

#endif
