// smux-echo: the echo server and client of the smux library, and a demo running both.
//
//   smux-echo server --listen 127.0.0.1:0      prints {"listening":"HOST:PORT","pid":N}
//   smux-echo client --connect HOST:PORT --streams 10
//   smux-echo demo --streams 10                 both in one process over loopback

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <chrono>
#include <exception>
#include <iostream>
#include <smux/smux.hpp>

#include "echo_client.hpp"
#include "echo_server.hpp"
#include "endpoint.hpp"

namespace {

struct config_flags {
    int version = 1;
    std::int64_t keepalive_interval_ms = 10'000;
    std::int64_t keepalive_timeout_ms = 30'000;
    bool no_keepalive = false;
    std::int64_t max_frame_size = 32'768;
    std::int64_t max_receive_buffer = 4'194'304;
    std::int64_t max_stream_buffer = 65'536;

    void add_to(CLI::App& app) {
        app.add_option("--version", version, "smux protocol version (1 or 2)")
            ->capture_default_str();
        app.add_option("--keepalive-interval", keepalive_interval_ms, "NOP interval, ms")
            ->capture_default_str();
        app.add_option("--keepalive-timeout", keepalive_timeout_ms,
                       "session timeout without frames, ms")
            ->capture_default_str();
        app.add_flag("--no-keepalive", no_keepalive, "send no NOP, never time out");
        app.add_option("--max-frame-size", max_frame_size, "largest PSH payload sent")
            ->capture_default_str();
        app.add_option("--max-receive-buffer", max_receive_buffer, "session receive buffer, bytes")
            ->capture_default_str();
        app.add_option("--max-stream-buffer", max_stream_buffer, "v2 stream window, bytes")
            ->capture_default_str();
    }

    /// @throws smux::config_error
    [[nodiscard]] smux::config build() const {
        return smux::config_builder{}
            .version(version)
            .keep_alive(!no_keepalive)
            .keep_alive_interval(std::chrono::milliseconds(keepalive_interval_ms))
            .keep_alive_timeout(std::chrono::milliseconds(keepalive_timeout_ms))
            .max_frame_size(max_frame_size)
            .max_receive_buffer(max_receive_buffer)
            .max_stream_buffer(max_stream_buffer)
            .build();
    }
};

int run_server(std::string const& listen, smux::config const& cfg) {
    asio::io_context ioc(1);
    asio::ip::tcp::acceptor acceptor(ioc, smux_echo::parse_endpoint(listen));
    std::cout << R"({"listening":")" << smux_echo::format_endpoint(acceptor.local_endpoint())
              << R"(","pid":)" << ::getpid() << "}" << std::endl;
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](asio::error_code, int) { ioc.stop(); });
    asio::co_spawn(ioc, smux_echo::run_echo_server(acceptor, cfg), asio::detached);
    ioc.run();
    return 0;
}

int run_client(std::string const& connect, int streams, smux::config const& cfg) {
    asio::io_context ioc(1);
    int failures = -1;
    asio::co_spawn(
        ioc,
        smux_echo::run_echo_client(smux_echo::parse_endpoint(connect), streams, cfg, std::cout),
        [&](std::exception_ptr e, int f) {
            failures = f;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& ex) {
                    std::cerr << "client failed: " << ex.what() << '\n';
                    failures = -1;
                }
            }
        });
    ioc.run();
    return failures == 0 ? 0 : 1;
}

int run_demo(int streams, smux::config const& cfg) {
    asio::io_context ioc(1);
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    auto const server = acceptor.local_endpoint();
    std::cout << "echo server on " << smux_echo::format_endpoint(server) << ", protocol version "
              << cfg.version << "; " << streams << " streams over one TCP connection:\n";
    asio::co_spawn(ioc, smux_echo::run_echo_server(acceptor, cfg), asio::detached);
    int failures = -1;
    asio::co_spawn(ioc, smux_echo::run_echo_client(server, streams, cfg, std::cout),
                   [&](std::exception_ptr e, int f) {
                       failures = f;
                       if (e) {
                           failures = -1;
                           try {
                               std::rethrow_exception(e);
                           } catch (std::exception const& ex) {
                               std::cerr << "client failed: " << ex.what() << '\n';
                           }
                       }
                       acceptor.close();
                       ioc.stop();
                   });
    ioc.run();
    std::cout << (failures == 0 ? "all streams echoed correctly\n" : "demo FAILED\n");
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"smux-echo: echo server, client and demo of the smux library"};
    app.require_subcommand(1);
    config_flags flags;

    std::string listen;
    auto* server = app.add_subcommand("server", "echo every stream of every session");
    server->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any)")->required();
    flags.add_to(*server);

    std::string connect;
    int streams = 10;
    auto* client = app.add_subcommand("client", "open streams at once and print each echo");
    client->add_option("--connect", connect, "HOST:PORT of an echo server")->required();
    client->add_option("--streams", streams, "streams to open at once")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    flags.add_to(*client);

    auto* demo = app.add_subcommand("demo", "server and client in one process over loopback");
    demo->add_option("--streams", streams, "streams to open at once")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    flags.add_to(*demo);

    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        smux::config const cfg = flags.build();
        if (server->parsed()) {
            return run_server(listen, cfg);
        }
        if (client->parsed()) {
            return run_client(connect, streams, cfg);
        }
        return run_demo(streams, cfg);
    } catch (smux::config_error const& e) {
        std::cerr << e.what() << '\n';
        return 2;
    } catch (std::exception const& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}
