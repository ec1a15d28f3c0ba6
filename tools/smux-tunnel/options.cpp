#include "options.hpp"

#include <algorithm>
#include <chrono>
#include <smux/kcp/crypt.hpp>
#include <smux/kcp/engine.hpp>

#include "address.hpp"

namespace smux_tunnel {

namespace {

/// Refuses a kcptun setting we do not serve on any transport, unless it has its default.
void refuse_unsupported(tunnel_options const& o) {
    if (o.tcp) {
        throw usage_error("--tcp (kcptun's TCP emulation over raw sockets) is not supported");
    }
    if (!o.snmplog.empty()) {
        throw usage_error("--snmplog is not supported yet (kcptun's SNMP CSV log)");
    }
    if (o.pprof) {
        throw usage_error("--pprof (Go's profiling server) is not supported");
    }
}

/// Refuses a KCP setting smux::kcp cannot serve.
void refuse_unsupported_kcp(tunnel_options const& o) {
    if (o.dscp < 0 || o.dscp > 63) {
        throw usage_error("--dscp must be 0..63 (6 bits)");
    }
    if (o.dscp != 0) {
        throw usage_error(
            "--dscp is not supported yet: smux::kcp cannot set IP_TOS on its "
            "UDP sockets");
    }
}

/// The TLS files: a server needs its certificate and key, a certificate goes with its key.
void check_tls(tunnel_options const& o) {
    bool const any = !o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_ca.empty();
    if (o.transport != transport_kind::tls) {
        if (any) {
            throw usage_error("--tls-cert, --tls-key and --tls-ca apply to --transport tls only");
        }
        return;
    }
    if (o.tls_cert.empty() != o.tls_key.empty()) {
        throw usage_error("--tls-cert and --tls-key go together");
    }
    if (o.role == tunnel_role::server && o.tls_cert.empty()) {
        throw usage_error("--transport tls: the server needs --tls-cert and --tls-key");
    }
}

/** kcptun's settings of the KCP layer (and of its UDP sockets), by kcptun name: under
    another transport they do nothing, which a warning says when one was given (a kcptun
    config file carries them all, so they are not refused). */
constexpr char const* kcp_only[] = {"key",     "crypt",     "mode",        "mtu",  "sndwnd",
                                    "rcvwnd",  "datashard", "parityshard", "dscp", "acknodelay",
                                    "nodelay", "interval",  "resend",      "nc",   "sockbuf"};

void warn_kcp_only(tunnel_options& o) {
    std::string ignored;
    for (char const* name : kcp_only) {
        if (o.given.contains(name)) {
            ignored += (ignored.empty() ? "--" : ", --") + std::string(name);
        }
    }
    if (!ignored.empty()) {
        o.warnings.push_back(ignored + ": KCP settings, ignored under --transport " +
                             transport_name(o.transport));
    }
}

void check_mode(tunnel_options& o) {
    if (!smux::kcp::parse_mode(o.mode)) {
        throw usage_error("--mode '" + o.mode +
                          "' is not supported: only the presets normal, fast, fast2 and fast3 "
                          "(kcptun's manual mode, with --nodelay, --interval, --resend and --nc, "
                          "has no counterpart in smux::kcp::options)");
    }
    for (char const* hidden : {"nodelay", "interval", "resend", "nc"}) {
        if (o.given.contains(hidden)) {
            o.warnings.push_back(std::string("--") + hidden + " is ignored: --mode " + o.mode +
                                 " sets nodelay, interval, resend and nc (as in kcptun)");
        }
    }
}

void check_crypt(tunnel_options const& o) {
    std::string const supported = smux::kcp::block_crypt::supported_names();
    std::string const listed = ", " + supported + ", ";
    if (listed.find(", " + o.crypt + ", ") != std::string::npos) {
        return;
    }
    if (o.crypt == "twofish" || o.crypt == "tea" || o.crypt == "xtea") {
        throw usage_error(
            "--crypt " + o.crypt +
            " is not supported (no maintained library offers it); supported: " + supported);
    }
    throw usage_error("unknown --crypt '" + o.crypt +
                      "' (kcptun would silently use aes); supported: " + supported);
}

void check_range(int value, int low, int high, char const* what) {
    if (value < low || value > high) {
        throw usage_error(std::string(what) + " must be " + std::to_string(low) + ".." +
                          std::to_string(high) + ", not " + std::to_string(value));
    }
}

void check_numbers(tunnel_options const& o) {
    constexpr int big = 2147483647;
    check_range(o.conn, 1, 65535, "--conn");
    check_range(o.autoexpire, 0, big, "--autoexpire");
    check_range(o.scavengettl, 0, big, "--scavengettl");
    check_range(o.mtu, 50, 1500, "--mtu");
    check_range(o.sndwnd, 1, 65535, "--sndwnd");
    check_range(o.rcvwnd, 1, 65535, "--rcvwnd");
    check_range(o.datashard, 0, 255, "--datashard");
    check_range(o.parityshard, 0, 255, "--parityshard");
    if (o.datashard > 0 && o.parityshard > 0 && o.datashard + o.parityshard > 256) {
        throw usage_error(
            "--datashard + --parityshard must be at most 256 (kcp-go would "
            "silently send without FEC)");
    }
    check_range(o.sockbuf, 0, big, "--sockbuf");
    check_range(o.smuxver, 1, 2, "--smuxver");
    check_range(o.keepalive, 1, 30, "--keepalive");  // smux's timeout stays 30 s, as in kcptun
    check_range(o.status_interval, 0, 86400, "--status-interval");
}

void check_addresses(tunnel_options const& o) {
    if (o.role == tunnel_role::client) {
        if (!split_host_port(o.localaddr, "--localaddr")) {
            throw usage_error("--localaddr: expected host:port, got '" + o.localaddr + "'");
        }
        if (!split_host_port(o.remoteaddr, "--remoteaddr")) {
            throw usage_error("--remoteaddr: expected host:port, got '" + o.remoteaddr + "'");
        }
        return;
    }
    if (!split_host_port(o.listen, "--listen")) {
        throw usage_error("--listen: expected host:port, got '" + o.listen + "'");
    }
    if (o.target.empty()) {
        throw usage_error("--target: expected host:port or a Unix socket path");
    }
    (void)split_host_port(o.target, "--target");  // a host:port shape needs a valid port
}

void check_kcp_engine(tunnel_options const& o) {
    try {
        (void)smux::kcp::make_engine_config(kcp_options(o), 1);
    } catch (smux::kcp::engine_config_error const& e) {
        throw usage_error(std::string("KCP settings (--mtu, --sndwnd, --rcvwnd): ") + e.what());
    }
}

}  // namespace

tunnel_options defaults_for(tunnel_role role) {
    tunnel_options o;
    o.role = role;
    if (role == tunnel_role::server) {
        o.sndwnd = 1024;
        o.rcvwnd = 1024;
    }
    return o;
}

void validate(tunnel_options& o) {
    refuse_unsupported(o);
    check_tls(o);
    if (o.transport == transport_kind::kcp) {
        refuse_unsupported_kcp(o);
        check_mode(o);
        check_crypt(o);
    } else {
        warn_kcp_only(o);
    }
    check_numbers(o);
    check_addresses(o);
    if (o.transport == transport_kind::kcp) {
        check_kcp_engine(o);
    }
    try {
        (void)smux_config(o);
    } catch (smux::config_error const& e) {
        throw usage_error(
            std::string("smux settings (--smuxver, --smuxbuf, --streambuf, --keepalive): ") +
            e.what());
    }
}

smux::kcp::options kcp_options(tunnel_options const& o) {
    smux::kcp::options k;
    k.crypt = o.crypt;
    k.key = o.key;
    bool const fec = o.datashard > 0 && o.parityshard > 0;
    k.data_shards = fec ? static_cast<std::size_t>(o.datashard) : 0;
    k.parity_shards = fec ? static_cast<std::size_t>(o.parityshard) : 0;
    k.mtu = static_cast<std::size_t>(o.mtu);
    k.snd_wnd = static_cast<std::uint32_t>(o.sndwnd);
    k.rcv_wnd = static_cast<std::uint32_t>(o.rcvwnd);
    k.mode = smux::kcp::parse_mode(o.mode).value_or(smux::kcp::mode::fast);
    k.ack_nodelay = o.acknodelay;
    k.stream_mode = true;
    k.socket_buffer = o.sockbuf;
    return k;
}

smux::config smux_config(tunnel_options const& o) {
    return smux::config_builder{}
        .version(o.smuxver)
        .max_receive_buffer(o.smuxbuf)
        .max_stream_buffer(o.streambuf)
        .keep_alive_interval(std::chrono::seconds(o.keepalive))
        .build();
}

char const* transport_name(transport_kind t) noexcept {
    switch (t) {
        case transport_kind::kcp:
            return "kcp";
        case transport_kind::tcp:
            return "tcp";
        case transport_kind::tls:
            return "tls";
    }
    return "?";
}

}  // namespace smux_tunnel
