#ifndef SMUX_TOOLS_TUNNEL_OPTIONS_HPP
#define SMUX_TOOLS_TUNNEL_OPTIONS_HPP

// The settings of one smux-tunnel process: kcptun 20210922's flags and JSON keys (client and
// server), plus the transport choice this tool adds.

#include <set>
#include <smux/config.hpp>
#include <smux/kcp/asio/options.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace smux_tunnel {

enum class tunnel_role { client, server };
enum class transport_kind { kcp, tcp, tls };

/// A setting that cannot be served; the message names the flag (or JSON key) and why.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/** kcptun's Config (client/config.go, server/config.go), field for field, with kcptun's
    defaults for the role (`defaults_for`). The names are kcptun's JSON keys. */
struct tunnel_options {
    tunnel_role role = tunnel_role::client;
    transport_kind transport = transport_kind::kcp;

    std::string localaddr = ":12948";        ///< client -l: TCP to accept
    std::string remoteaddr = "vps:29900";    ///< client -r: the server
    std::string listen = ":29900";           ///< server -l: where sessions arrive
    std::string target = "127.0.0.1:12948";  ///< server -t: host:port, else a Unix socket path

    std::string key = "it's a secrect";
    std::string crypt = "aes";
    std::string mode = "fast";
    int conn = 1;           ///< client: sessions, streams round-robin over them
    int autoexpire = 0;     ///< client: seconds before a session is replaced; 0: never
    int scavengettl = 600;  ///< client: seconds an expired session may keep its streams
    int mtu = 1350;
    int sndwnd = 128;
    int rcvwnd = 512;
    int datashard = 10;
    int parityshard = 3;
    int dscp = 0;
    bool nocomp = false;
    bool acknodelay = false;
    int nodelay = 0;  ///< hidden kcptun flags, used only by --mode manual
    int interval = 50;
    int resend = 0;
    int nc = 0;
    int sockbuf = 4194304;
    int smuxver = 1;
    int smuxbuf = 4194304;
    int streambuf = 2097152;
    int keepalive = 10;  ///< seconds between NOPs
    std::string log;     ///< log file (appended); empty: stderr
    std::string snmplog;
    int snmpperiod = 60;
    bool pprof = false;  ///< server only
    bool quiet = false;  ///< hides the stream opened/closed lines
    bool tcp = false;    ///< kcptun's emulated TCP (tcpraw)

    std::string tls_cert;      ///< --transport tls: own certificate (chain), PEM
    std::string tls_key;       ///< its private key, PEM
    std::string tls_ca;        ///< CA(s) the peer's certificate must chain to, PEM
    int status_interval = 60;  ///< seconds between status lines; 0: none

    /// Settings given explicitly (flag or JSON key), by kcptun name, for the checks that
    /// depend on it (the hidden flags are ignored under a --mode preset, as in kcptun).
    std::set<std::string> given;

    /// Things to log once the log is open (a JSON key kcptun ignores, a hidden flag that a
    /// preset overrides).
    std::vector<std::string> warnings;
};

/// kcptun's defaults for `role` (the windows and addresses differ).
[[nodiscard]] tunnel_options defaults_for(tunnel_role role);

/** Checks every setting and refuses what this tool does not serve, naming the flag (kcptun
    accepts anything and silently replaces what it does not know; we do not). Under
    --transport tcp or tls, the KCP settings given are ignored with a warning each.
    @throws usage_error */
void validate(tunnel_options& o);

/// The KCP settings of `o` (after `validate`).
[[nodiscard]] smux::kcp::options kcp_options(tunnel_options const& o);

/// The smux session settings of `o` (after `validate`): kcptun's smux.DefaultConfig() with
/// --smuxver, --smuxbuf, --streambuf and --keepalive.
[[nodiscard]] smux::config smux_config(tunnel_options const& o);

[[nodiscard]] char const* transport_name(transport_kind t) noexcept;

}  // namespace smux_tunnel

#endif
