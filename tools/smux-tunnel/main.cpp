// smux-tunnel: a kcptun-compatible port forwarder over smux sessions (KCP, TCP or TLS).
//
//   smux-tunnel client -l 127.0.0.1:8388 -r SERVER:29900 [kcptun-client's flags]
//   smux-tunnel server -l :29900 -t 127.0.0.1:8388        [kcptun-server's flags]
//
// Logs go to stderr (or --log); "listening on: ADDRESS" tells the bound address. SIGINT and
// SIGTERM end it cleanly (exit status 0); a bad command line exits with 2, a failed start
// with 1. One thread runs everything.

#include <csignal>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <exception>
#include <iostream>
#include <smux/version.hpp>
#include <string>

#include "client.hpp"
#include "command_line.hpp"
#include "logger.hpp"
#include "options.hpp"
#include "server.hpp"

namespace {

using namespace smux_tunnel;

std::string yes_no(bool b) {
    return b ? "true" : "false";
}

/// The settings in effect, as kcptun logs them at start.
void log_settings(tunnel_options const& o, logger& log) {
    bool const client = o.role == tunnel_role::client;
    log.info(std::string("smux-tunnel ") + SMUX_VERSION_STRING + " " +
             (client ? "client" : "server") + ", transport " + transport_name(o.transport));
    if (o.transport == transport_kind::kcp) {
        log.info("encryption: " + o.crypt + ", mode: " + o.mode +
                 ", compression: " + yes_no(!o.nocomp));
        log.info("sndwnd: " + std::to_string(o.sndwnd) + " rcvwnd: " + std::to_string(o.rcvwnd) +
                 ", mtu: " + std::to_string(o.mtu) + ", datashard: " + std::to_string(o.datashard) +
                 " parityshard: " + std::to_string(o.parityshard) + ", acknodelay: " +
                 yes_no(o.acknodelay) + ", sockbuf: " + std::to_string(o.sockbuf));
    } else {
        log.info("compression: " + yes_no(!o.nocomp));
    }
    if (o.transport == transport_kind::tls) {
        std::string const no_ca = client ? "(the system's)" : "(no client certificate asked)";
        log.info("tls certificate: " + (o.tls_cert.empty() ? "(none)" : o.tls_cert) +
                 ", ca: " + (o.tls_ca.empty() ? no_ca : o.tls_ca));
    }
    log.info("smux version: " + std::to_string(o.smuxver) + ", smuxbuf: " +
             std::to_string(o.smuxbuf) + ", streambuf: " + std::to_string(o.streambuf) +
             ", keepalive: " + std::to_string(o.keepalive) + ", quiet: " + yes_no(o.quiet) +
             ", status interval: " + std::to_string(o.status_interval));
    if (client) {
        log.info("conn: " + std::to_string(o.conn) + ", autoexpire: " +
                 std::to_string(o.autoexpire) + ", scavengettl: " + std::to_string(o.scavengettl));
    }
}

template <class Role>
int run_role(tunnel_options o, logger& log) {
    asio::io_context ioc(1);
    Role role(ioc, std::move(o), log);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    int status = 0;
    signals.async_wait([&](asio::error_code ec, int signal) {
        if (!ec) {
            log.info("signal " + std::to_string(signal) + ": shutting down");
            role.stop();
            // Back to the default disposition: a second signal ends a shutdown that hangs.
            asio::error_code ignored;
            signals.clear(ignored);
        }
    });
    asio::co_spawn(ioc, role.start(), [&](std::exception_ptr e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& failure) {
            log.error(std::string("cannot start: ") + failure.what());
        }
        status = 1;
        signals.cancel();
        role.stop();
    });
    // Runs until stop() left nothing to do: every socket, session and timer closed.
    ioc.run();
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    auto cl = parse_command_line(argc, argv);
    if (!cl.run) {
        return cl.exit_code;
    }
    tunnel_options& o = cl.options;
    logger log(o.quiet);
    if (!o.log.empty()) {
        try {
            log.open_file(o.log);
        } catch (std::system_error const& e) {
            std::cerr << "smux-tunnel: " << e.what() << '\n';
            return 1;
        }
    }
    std::signal(SIGPIPE, SIG_IGN);  // a peer's reset is an error code, not a signal
    for (auto const& w : o.warnings) {
        log.warn(w);
    }
    log_settings(o, log);
    try {
        return o.role == tunnel_role::client ? run_role<client_role>(std::move(o), log)
                                             : run_role<server_role>(std::move(o), log);
    } catch (std::exception const& e) {
        log.error(e.what());
        return 1;
    }
}
