#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace udp_relay {

namespace {

constexpr char const* description =
    "udp-relay: forwards UDP datagrams between clients and one upstream address, through one "
    "upstream socket per client, impairing each direction (loss, delay, jitter, duplicates, "
    "reordering, rate) with a seeded PRNG. Prints {\"listening\":...} on start, a stats line "
    "on SIGUSR1 and on exit (SIGINT/SIGTERM). Impairment flags take one value for both "
    "directions or two, comma separated: client->upstream,upstream->client.";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// "host:port" or "[v6]:port", numeric only.
asio::ip::udp::endpoint parse_endpoint(std::string const& text, char const* flag) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw usage_error(std::string(flag) + " needs host:port, got '" + text + "'");
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    asio::error_code ec;
    auto const address = asio::ip::make_address(host, ec);
    std::size_t used = 0;
    unsigned long port = 0;
    try {
        port = std::stoul(text.substr(colon + 1), &used);
    } catch (std::exception const&) {
        used = 0;
    }
    if (ec || used == 0 || used != text.size() - colon - 1 || port > 65'535) {
        throw usage_error(std::string(flag) + ": bad address '" + text + "'");
    }
    return {address, static_cast<unsigned short>(port)};
}

/// Spreads a one- or two-value flag over both directions, checking its range.
void apply(std::vector<double> const& values, char const* flag, double lo, double hi,
           relay_options& o, double impairment::*field) {
    if (values.empty()) {
        return;
    }
    for (int d : {up, down}) {
        double const v = values[values.size() == 1 ? 0 : static_cast<std::size_t>(d)];
        if (!std::isfinite(v) || v < lo || v > hi) {
            std::ostringstream msg;
            msg << flag << " must be between " << lo << " and " << hi;
            throw usage_error(msg.str());
        }
        o.dir[d].*field = v;
    }
}

}  // namespace

std::optional<relay_options> parse_options(int argc, char** argv, int& exit_code) {
    CLI::App app(description, "udp-relay");
    std::string listen = "127.0.0.1:0";
    std::string upstream;
    std::vector<double> loss, delay, jitter, duplicate, reorder, reorder_ms, rate;
    relay_options o;
    app.add_option("--listen", listen, "Address to listen on (port 0: any)")->capture_default_str();
    app.add_option("--upstream", upstream, "Address every datagram is forwarded to")->required();
    auto pair = [&app](char const* name, std::vector<double>& v, char const* help) {
        app.add_option(name, v, help)->expected(1, 2)->delimiter(',');
    };
    pair("--loss", loss, "Drop probability, 0..1");
    pair("--delay", delay, "Fixed delay, ms");
    pair("--jitter", jitter, "Uniform extra delay per datagram, 0..JITTER ms (reorders)");
    pair("--duplicate", duplicate, "Probability a datagram is sent twice, 0..1");
    pair("--reorder", reorder, "Probability a datagram is held back by --reorder-delay, 0..1");
    pair("--reorder-delay", reorder_ms, "Hold-back of a reordered datagram, ms (20)");
    pair("--rate", rate, "Rate limit, bytes per second (0: none)");
    app.add_option("--seed", o.seed, "PRNG seed")->capture_default_str();
    app.add_option("--queue-limit", o.queue_limit, "Most datagrams held for delay")
        ->capture_default_str();
    app.add_option("--queue-bytes", o.queue_bytes, "Most bytes held for delay")
        ->capture_default_str();
    app.add_option("--max-clients", o.max_clients, "Most client endpoints served")
        ->capture_default_str();
    app.add_option("--sockbuf", o.socket_buffer,
                   "SO_RCVBUF and SO_SNDBUF of every socket, bytes (0: the system's; the kernel "
                   "caps it at net.core.rmem_max / wmem_max)")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
        o.listen = parse_endpoint(listen, "--listen");
        o.upstream = parse_endpoint(upstream, "--upstream");
        apply(loss, "--loss", 0, 1, o, &impairment::loss);
        apply(duplicate, "--duplicate", 0, 1, o, &impairment::duplicate);
        apply(reorder, "--reorder", 0, 1, o, &impairment::reorder);
        apply(delay, "--delay", 0, 600'000, o, &impairment::delay_ms);
        apply(jitter, "--jitter", 0, 600'000, o, &impairment::jitter_ms);
        apply(reorder_ms, "--reorder-delay", 0, 600'000, o, &impairment::reorder_ms);
        apply(rate, "--rate", 0, 1e12, o, &impairment::rate);
        if (o.socket_buffer < 0) {
            throw usage_error("--sockbuf must not be negative");
        }
        if (o.queue_limit < 1 || o.max_clients < 1) {
            throw usage_error("--queue-limit and --max-clients must be at least 1");
        }
    } catch (CLI::ParseError const& e) {
        exit_code = app.exit(e);
        return std::nullopt;
    } catch (usage_error const& e) {
        std::cerr << "udp-relay: " << e.what() << '\n';
        exit_code = 2;
        return std::nullopt;
    }
    return o;
}

}  // namespace udp_relay
