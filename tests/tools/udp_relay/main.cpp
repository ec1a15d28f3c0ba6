// udp-relay: a UDP impairment relay for tests (the kernel here has no netem). See
// options.cpp for the flags and relay.hpp for the design.

#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include "options.hpp"
#include "relay.hpp"

namespace {

std::string format_endpoint(asio::ip::udp::endpoint const& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

/// SIGUSR1: a stats line now, after what is already in the sockets was handled.
void report_on_usr1(asio::signal_set& usr1, udp_relay::relay& r) {
    usr1.async_wait([&usr1, &r](asio::error_code ec, int) {
        if (ec) {
            return;
        }
        r.drain();
        std::cout << r.stats_json(false) << std::endl;
        report_on_usr1(usr1, r);
    });
}

int run(udp_relay::relay_options const& opts) {
    asio::io_context ioc(1);
    udp_relay::relay r(ioc, opts);
    // Installed before the listening line, so a script may signal as soon as it has read it.
    asio::signal_set stop(ioc, SIGINT, SIGTERM);
    stop.async_wait([&ioc, &r](asio::error_code ec, int) {
        if (!ec) {
            r.drain();
            ioc.stop();
        }
    });
    asio::signal_set usr1(ioc, SIGUSR1);
    report_on_usr1(usr1, r);
    std::cout << R"({"listening":")" << format_endpoint(r.local_endpoint()) << R"(","upstream":")"
              << format_endpoint(opts.upstream) << R"(","pid":)" << ::getpid() << '}' << std::endl;
    r.start();
    ioc.run();
    std::cout << r.stats_json(true) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int code = 0;
    auto const opts = udp_relay::parse_options(argc, argv, code);
    if (!opts) {
        return code;
    }
    try {
        return run(*opts);
    } catch (std::exception const& e) {
        std::cerr << "udp-relay: " << e.what() << '\n';
        return 1;
    }
}
