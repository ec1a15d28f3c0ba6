#ifndef SMUX_BENCH_KCP_ROLES_HPP
#define SMUX_BENCH_KCP_ROLES_HPP

#include <smux/kcp/asio/options.hpp>

#include "options.hpp"

namespace kcp_bench {

/// Serves until SIGTERM or SIGINT; 0 then, 1 when it cannot start.
[[nodiscard]] int run_server(server_options const& o, smux::kcp::options const& kcp);
/// One run; prints its result line. 0 when ok, 1 otherwise.
[[nodiscard]] int run_client(client_options const& o, smux::kcp::options const& kcp);

}  // namespace kcp_bench

#endif
