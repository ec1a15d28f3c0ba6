#include "command_line.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>
#include <smux/version.hpp>
#include <string>
#include <utility>
#include <vector>

#include "json_config.hpp"

namespace smux_tunnel {

namespace {

constexpr char const* description =
    "smux-tunnel: a kcptun-compatible TCP port forwarder over smux sessions.\n"
    "  smux-tunnel client -l 127.0.0.1:8388 -r SERVER:29900   forwards local TCP connections\n"
    "  smux-tunnel server -l :29900 -t 127.0.0.1:8388         connects each stream to the "
    "target\n"
    "The flags, defaults and -c JSON keys are kcptun 20210922's; a setting this build cannot "
    "serve is refused, never ignored. Logs go to stderr (or --log).";

/// A flag and the kcptun name it sets (to know which settings were given).
using named_options = std::vector<std::pair<CLI::Option*, std::string>>;

/// The flags both roles have, with kcptun's help texts.
void add_shared(CLI::App& cmd, tunnel_options& o, named_options& named, std::string& json) {
    auto add = [&](std::string const& flags, auto& field, std::string const& name,
                   std::string const& help) {
        named.emplace_back(cmd.add_option(flags, field, help)->capture_default_str(), name);
        return named.back().first;
    };
    auto flag = [&](std::string const& flags, bool& field, std::string const& name,
                    std::string const& help) {
        named.emplace_back(cmd.add_flag(flags, field, help), name);
        return named.back().first;
    };
    add("--key", o.key, "key", "pre-shared secret between client and server")
        ->envname("KCPTUN_KEY");
    add("--crypt", o.crypt, "crypt",
        "aes, aes-128, aes-192, salsa20, blowfish, cast5, 3des, xor, sm4, none "
        "(kcptun's twofish, tea and xtea are refused)");
    add("--mode", o.mode, "mode", "profiles: fast3, fast2, fast, normal");
    add("--mtu", o.mtu, "mtu", "set maximum transmission unit for UDP packets");
    add("--sndwnd", o.sndwnd, "sndwnd", "set send window size(num of packets)");
    add("--rcvwnd", o.rcvwnd, "rcvwnd", "set receive window size(num of packets)");
    add("--datashard,--ds", o.datashard, "datashard",
        "set reed-solomon erasure coding - datashard");
    add("--parityshard,--ps", o.parityshard, "parityshard",
        "set reed-solomon erasure coding - parityshard");
    add("--dscp", o.dscp, "dscp", "set DSCP(6bit); only 0 is supported yet");
    flag("--nocomp", o.nocomp, "nocomp", "disable compression");
    flag("--acknodelay", o.acknodelay, "acknodelay",
         "flush ack immediately when a packet is received")
        ->group("");
    add("--nodelay", o.nodelay, "nodelay", "kcptun's manual mode; ignored under a preset")
        ->group("");
    add("--interval", o.interval, "interval", "kcptun's manual mode; ignored under a preset")
        ->group("");
    add("--resend", o.resend, "resend", "kcptun's manual mode; ignored under a preset")->group("");
    add("--nc", o.nc, "nc", "kcptun's manual mode; ignored under a preset")->group("");
    add("--sockbuf", o.sockbuf, "sockbuf", "per-socket buffer in bytes");
    add("--smuxver", o.smuxver, "smuxver", "specify smux version, available 1,2");
    add("--smuxbuf", o.smuxbuf, "smuxbuf", "the overall de-mux buffer in bytes");
    add("--streambuf", o.streambuf, "streambuf", "per stream receive buffer in bytes, smux v2+");
    add("--keepalive", o.keepalive, "keepalive", "seconds between heartbeats");
    add("--snmplog", o.snmplog, "snmplog", "kcptun's SNMP log: not supported yet (refused)");
    add("--snmpperiod", o.snmpperiod, "snmpperiod", "snmp collect period, in seconds");
    add("--log", o.log, "log", "specify a log file to output, default goes to stderr");
    flag("--quiet", o.quiet, "quiet", "to suppress the 'stream open/close' messages");
    flag("--tcp", o.tcp, "tcp", "kcptun's TCP emulation: not supported (refused)");
    cmd.add_option("-c", json, "config from json file, which will override the command line");
    named.emplace_back(
        cmd.add_option("--transport", o.transport,
                       "beyond kcptun: kcp (default), tcp (smux over one TCP connection per "
                       "session) or tls (over TLS); KCP settings are ignored with a warning "
                       "under tcp and tls")
            ->transform(CLI::CheckedTransformer(
                            std::map<std::string, transport_kind>{{"kcp", transport_kind::kcp},
                                                                  {"tcp", transport_kind::tcp},
                                                                  {"tls", transport_kind::tls}},
                            CLI::ignore_case)
                            .description(""))
            ->type_name("kcp|tcp|tls"),
        "transport");
    add("--tls-cert", o.tls_cert, "tlscert",
        "--transport tls: own certificate chain, PEM (required on the server)");
    add("--tls-key", o.tls_key, "tlskey", "--transport tls: its private key, PEM");
    add("--tls-ca", o.tls_ca, "tlsca",
        "--transport tls: CA certificates, PEM; the client verifies the server with them "
        "(default: the system's), a server with them requires client certificates");
    add("--status-interval", o.status_interval, "statusinterval",
        "beyond kcptun: seconds between status lines (sessions, streams, bytes and rates, "
        "KCP retransmits and FEC recoveries); 0: none");
}

void add_client(CLI::App& cmd, tunnel_options& o, named_options& named, std::string& json) {
    named.emplace_back(cmd.add_option("-l,--localaddr", o.localaddr, "local listen address")
                           ->capture_default_str(),
                       "localaddr");
    named.emplace_back(cmd.add_option("-r,--remoteaddr", o.remoteaddr, "kcp server address")
                           ->capture_default_str(),
                       "remoteaddr");
    named.emplace_back(cmd.add_option("--conn", o.conn, "set num of UDP connections to server")
                           ->capture_default_str(),
                       "conn");
    named.emplace_back(cmd.add_option("--autoexpire", o.autoexpire,
                                      "set auto expiration time(in seconds) for a single UDP "
                                      "connection, 0 to disable")
                           ->capture_default_str(),
                       "autoexpire");
    named.emplace_back(cmd.add_option("--scavengettl", o.scavengettl,
                                      "set how long an expired connection can live (in seconds)")
                           ->capture_default_str(),
                       "scavengettl");
    add_shared(cmd, o, named, json);
}

void add_server(CLI::App& cmd, tunnel_options& o, named_options& named, std::string& json) {
    named.emplace_back(
        cmd.add_option("-l,--listen", o.listen, "kcp server listen address")->capture_default_str(),
        "listen");
    named.emplace_back(
        cmd.add_option("-t,--target", o.target, "target server address, or path/to/unix_socket")
            ->capture_default_str(),
        "target");
    add_shared(cmd, o, named, json);
    named.emplace_back(cmd.add_flag("--pprof", o.pprof, "Go's profiler: not supported (refused)"),
                       "pprof");
}

/** Go's flag package takes `-name` for `--name` and `-l=value`: rewrites those to CLI11's
    `--name` and `-l value`. `-c` and the one-letter flags stay short. */
std::vector<std::string> go_style_args(int argc, char const* const* argv,
                                       std::set<std::string> const& long_names) {
    std::vector<std::string> out;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        bool const single_dash = arg.size() > 1 && arg[0] == '-' && arg[1] != '-';
        std::string const name = single_dash ? arg.substr(1, arg.find('=') - 1) : "";
        if (single_dash && name.size() > 1 && long_names.contains(name)) {
            arg.insert(0, "-");
        } else if (single_dash && name.size() == 1 && arg.size() > 2 && arg[2] == '=') {
            out.push_back(arg.substr(0, 2));
            arg = arg.substr(3);
        }
        out.push_back(std::move(arg));
    }
    return out;
}

std::set<std::string> long_names_of(std::initializer_list<CLI::App const*> commands) {
    std::set<std::string> names;
    for (CLI::App const* sub : commands) {
        for (CLI::Option const* opt : sub->get_options()) {
            for (auto const& n : opt->get_lnames()) {
                names.insert(n);
            }
        }
    }
    return names;
}

}  // namespace

command_line parse_command_line(int argc, char const* const* argv) {
    command_line result;
    CLI::App app{description, "smux-tunnel"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", std::string("smux-tunnel ") + SMUX_VERSION_STRING +
                                             " (kcptun 20210922 compatible)");
    tunnel_options client = defaults_for(tunnel_role::client);
    tunnel_options server = defaults_for(tunnel_role::server);
    named_options client_named;
    named_options server_named;
    std::string client_json;
    std::string server_json;
    auto* client_cmd = app.add_subcommand("client",
                                          "accept TCP, forward each connection as a "
                                          "stream (kcptun-client)");
    add_client(*client_cmd, client, client_named, client_json);
    auto* server_cmd = app.add_subcommand("server",
                                          "accept sessions, connect each stream to "
                                          "the target (kcptun-server)");
    add_server(*server_cmd, server, server_named, server_json);

    auto args = go_style_args(argc, argv, long_names_of({client_cmd, server_cmd}));
    std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
    try {
        app.parse(args);
    } catch (CLI::ParseError const& e) {
        result.exit_code = app.exit(e) == 0 ? 0 : 2;
        return result;
    }
    bool const is_client = client_cmd->parsed();
    tunnel_options& o = is_client ? client : server;
    for (auto const& [opt, name] : is_client ? client_named : server_named) {
        if (opt->count() > 0) {
            o.given.insert(name);
        }
    }
    try {
        if (std::string const& json = is_client ? client_json : server_json; !json.empty()) {
            read_json_config(json, o);
        }
        validate(o);
    } catch (usage_error const& e) {
        std::cerr << "smux-tunnel " << (is_client ? "client" : "server") << ": " << e.what()
                  << '\n';
        result.exit_code = 2;
        return result;
    }
    result.run = true;
    result.options = std::move(o);
    return result;
}

}  // namespace smux_tunnel
