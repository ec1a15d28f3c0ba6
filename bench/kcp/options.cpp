#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <stdexcept>

#include "common.hpp"

namespace kcp_bench {

namespace {

constexpr char const* description =
    "smux-kcp-bench: one KCP link, measured (bench/README.md, \"KCP link\"). The server sinks "
    "each KCP conversation and answers when it has all the bytes the client announced; the "
    "client sends them and prints one JSON result line. No smux on top. The Go twin kcpbench "
    "(kcp-go) takes the same command line. One thread runs everything.";

/// A bad value found after CLI11 parsed the line.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// kcptun's flags, the same on both subcommands.
void add_link_flags(CLI::App& app, link_params& p) {
    app.add_option("--crypt", p.crypt,
                   "kcptun's cipher: aes, aes-128, aes-192, salsa20, blowfish, cast5, 3des, sm4, "
                   "xor, none; null: no crypt header")
        ->capture_default_str();
    app.add_option("--key", p.key, "kcptun's --key (PBKDF2 password)");
    app.add_option("--datashard", p.datashard, "FEC data shards, 0: off (kcptun: 10)")
        ->capture_default_str();
    app.add_option("--parityshard", p.parityshard, "FEC parity shards (kcptun: 3)")
        ->capture_default_str();
    app.add_option("--mode", p.mode, "kcptun's preset: normal, fast, fast2, fast3")
        ->capture_default_str();
    app.add_option("--mtu", p.mtu, "whole UDP payload, bytes")->capture_default_str();
    app.add_option("--sndwnd", p.sndwnd, "send window, segments (client 128, server 1024)");
    app.add_option("--rcvwnd", p.rcvwnd, "receive window, segments (client 512, server 1024)");
    app.add_option("--sockbuf", p.sockbuf, "UDP socket buffers, bytes")->capture_default_str();
    app.add_flag("--acknodelay", p.acknodelay, "send ACKs as soon as data arrives");
}

/// Fills in the role's window defaults and builds the library's options; checks them the
/// way the library will, so a bad value is a usage error rather than a failed run.
smux::kcp::options finish_link(link_params& p, bool client) {
    if (p.sndwnd == 0) {
        p.sndwnd = client ? 128 : 1024;
    }
    if (p.rcvwnd == 0) {
        p.rcvwnd = client ? 512 : 1024;
    }
    auto const mode = smux::kcp::parse_mode(p.mode);
    if (!mode) {
        throw usage_error("unknown --mode '" + p.mode + "' (normal, fast, fast2, fast3)");
    }
    if (p.datashard < 0 || p.parityshard < 0 || (p.datashard == 0) != (p.parityshard == 0)) {
        throw usage_error("--datashard and --parityshard: both 0, or both positive");
    }
    if (p.mtu <= 0 || p.sndwnd <= 0 || p.rcvwnd <= 0 || p.sockbuf < 0) {
        throw usage_error("--mtu, --sndwnd, --rcvwnd must be positive, --sockbuf not negative");
    }
    smux::kcp::options o;
    o.crypt = p.crypt == "null" ? "" : p.crypt;
    o.key = p.key;
    o.data_shards = static_cast<std::size_t>(p.datashard);
    o.parity_shards = static_cast<std::size_t>(p.parityshard);
    o.mtu = static_cast<std::size_t>(p.mtu);
    o.snd_wnd = static_cast<std::uint32_t>(p.sndwnd);
    o.rcv_wnd = static_cast<std::uint32_t>(p.rcvwnd);
    o.mode = *mode;
    o.ack_nodelay = p.acknodelay;
    o.stream_mode = true;  // kcptun's, at both ends
    o.socket_buffer = p.sockbuf;
    try {
        (void)smux::kcp::make_engine_config(o, 1);
        (void)smux::kcp::make_crypt(o);
    } catch (std::invalid_argument const& e) {
        throw usage_error(e.what());
    }
    return o;
}

/// A numeric HOST:PORT, checked now so a typo is a usage error rather than a failed run.
void check_address(std::string const& text, char const* flag) {
    try {
        (void)parse_endpoint(text);
    } catch (std::invalid_argument const& e) {
        throw usage_error(std::string(flag) + ": " + e.what());
    }
}

void finish_client(client_options& o) {
    check_address(o.connect, "--connect");
    if (o.bytes < 1) {
        throw usage_error("--bytes must be at least 1");
    }
    if (o.chunk < 1 || o.chunk > (16U << 20)) {
        throw usage_error("--chunk must be 1..16 MiB");
    }
    if (!std::isfinite(o.timeout_s) || o.timeout_s <= 0) {
        throw usage_error("--timeout must be positive");
    }
}

}  // namespace

command_line parse_command_line(int argc, char const* const* argv) {
    command_line out;
    CLI::App app{description, "smux-kcp-bench"};
    // Go's flag package keeps the last of repeated flags; do the same.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.require_subcommand(1);

    auto& so = out.server;
    auto* server = app.add_subcommand(
        "server",
        "sink KCP conversations until SIGTERM or SIGINT; prints {\"listening\":...,\"pid\":...} "
        "first, then one JSON line per finished conversation");
    server->add_option("--listen", so.listen, "HOST:PORT to bind (port 0: the kernel picks)")
        ->required();
    server->add_option("--linger", so.linger_s, "seconds a conversation is kept after its reply")
        ->capture_default_str();
    add_link_flags(*server, so.link);

    auto& co = out.client;
    auto* client = app.add_subcommand("client",
                                      "send --bytes, wait for the server's count, "
                                      "print one JSON line");
    client->add_option("--connect", co.connect, "HOST:PORT of the server (or of a relay)")
        ->required();
    client->add_option("--bytes", co.bytes, "payload bytes")->capture_default_str();
    client->add_option("--chunk", co.chunk, "bytes per write call")->capture_default_str();
    client->add_option("--timeout", co.timeout_s, "seconds before the run fails")
        ->capture_default_str();
    add_link_flags(*client, co.link);

    try {
        app.parse(argc, argv);
        if (server->parsed()) {
            out.kcp = finish_link(so.link, false);
            check_address(so.listen, "--listen");
            if (!std::isfinite(so.linger_s) || so.linger_s < 0) {
                throw usage_error("--linger must not be negative");
            }
            out.what = command_line::action::server;
        } else {
            out.kcp = finish_link(co.link, true);
            finish_client(co);
            out.what = command_line::action::client;
        }
    } catch (CLI::ParseError const& e) {
        int const code = app.exit(e, std::cout, std::cerr);
        out.what = command_line::action::exit;
        out.exit_code = code == 0 ? 0 : 2;
    } catch (usage_error const& e) {
        std::cerr << "smux-kcp-bench: " << e.what() << "\nRun with --help for more information.\n";
        out.what = command_line::action::exit;
        out.exit_code = 2;
    }
    return out;
}

}  // namespace kcp_bench
