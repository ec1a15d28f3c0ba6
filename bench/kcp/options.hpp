#ifndef SMUX_BENCH_KCP_OPTIONS_HPP
#define SMUX_BENCH_KCP_OPTIONS_HPP

// The command line of smux-kcp-bench and of its Go twin kcpbench (bench/kcp/README in
// bench/README.md, section "KCP link"): the same flags, with kcptun's names and defaults.

#include <cstddef>
#include <cstdint>
#include <smux/kcp/asio/options.hpp>
#include <string>

namespace kcp_bench {

/// The KCP settings of one side, as kcptun's flags name them.
struct link_params {
    std::string crypt = "aes";  ///< kcptun's --crypt; "null": no crypt header at all
    std::string key = std::string(smux::kcp::default_password);
    int datashard = 0;  ///< FEC off by default (kcptun: 10/3)
    int parityshard = 0;
    std::string mode = "fast";  ///< kcptun's --mode preset
    int mtu = 1350;
    int sndwnd = 0;  ///< 0 until parsed: the role's kcptun default (client 128, server 1024)
    int rcvwnd = 0;  ///< client 512, server 1024
    int sockbuf = 4'194'304;
    bool acknodelay = false;
};

struct server_options {
    std::string listen;
    link_params link;
    /// Seconds a conversation is kept after its reply, so KCP can still resend the reply.
    double linger_s = 10;
};

struct client_options {
    std::string connect;
    std::int64_t bytes = 64LL << 20;
    std::size_t chunk = 32 * 1024;  ///< bytes per write call (kcptun's smux frame size)
    double timeout_s = 600;         ///< the run fails after this long
    link_params link;
};

struct command_line {
    enum class action { server, client, exit } what = action::exit;
    int exit_code = 0;  ///< action::exit: 0 after --help, 2 after a bad command line
    server_options server;
    client_options client;
    smux::kcp::options kcp;  ///< `link` turned into the library's options
};

/// Parses argv; errors go to stderr and yield action::exit with exit code 2.
[[nodiscard]] command_line parse_command_line(int argc, char const* const* argv);

}  // namespace kcp_bench

#endif
