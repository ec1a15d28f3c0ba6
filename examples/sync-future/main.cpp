// A synchronous program: the main thread drives a smux client through std::future
// (`asio::use_future`) while one background thread runs the io_context, where an echo server
// runs too (127.0.0.1, a port the system picks). Shows a validated config, blocking calls on
// futures, and what operations report once the session is closed. Exits non-zero unless the
// echo came back and the errors are the documented ones.

#include <array>
#include <chrono>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo(smux::stream s) {
    std::array<char, 4096> buffer;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buffer), as_tuple);
        if (ec) {
            co_return;
        }
        auto [write_ec, written] = co_await asio::async_write(s, asio::buffer(buffer, n), as_tuple);
        if (write_ec) {
            co_return;
        }
    }
}

asio::awaitable<void> serve_one(tcp::acceptor& acceptor, smux::config cfg) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    smux::tcp_session session(smux::role::server, std::move(socket), cfg);
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        asio::co_spawn(session.get_executor(), echo(std::move(s)), asio::detached);
    }
}

// [snippet:config]
// Protocol version 2 (per-stream windows) with a 1 MiB window per stream and a quicker
// keep-alive; both peers must use the same version.
smux::config make_config() {
    return smux::config_builder{}
        .version(2)
        .max_stream_buffer(1 << 20)
        .keep_alive_interval(std::chrono::seconds(5))
        .keep_alive_timeout(std::chrono::seconds(15))
        .build();  // throws smux::config_error, naming the field, when a value is invalid
}
// [end-snippet]

// [snippet:config-error]
bool rejects_bad_frame_size() {
    try {
        // Go's limit is 65535.
        [[maybe_unused]] smux::config cfg = smux::config_builder{}.max_frame_size(70'000).build();
        return false;
    } catch (smux::config_error const& e) {
        std::cout << "rejected: " << e.what() << '\n';
        return true;
    }
}
// [end-snippet]

}  // namespace

int main() {
    smux::config const cfg = make_config();
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(io, serve_one(acceptor, cfg), asio::detached);
    auto work = asio::make_work_guard(io);
    std::thread io_thread([&] { io.run(); });

    bool ok = rejects_bad_frame_size();
    // [snippet:use-future]
    // Blocking calls from the main thread: initiating functions may be called from any
    // thread, and each .get() waits for the completion on the io_context's thread.
    tcp::socket socket(io);
    socket.connect(acceptor.local_endpoint());
    smux::tcp_session session(smux::role::client, std::move(socket), cfg);
    smux::stream s = session.async_open_stream(asio::use_future).get();
    std::string const question = "hello";
    asio::async_write(s, asio::buffer(question), asio::use_future).get();
    std::string reply(question.size(), '\0');
    asio::async_read(s, asio::buffer(reply), asio::use_future).get();  // throws on an error
    std::cout << "reply: " << reply << '\n';
    // [end-snippet]
    ok = ok && reply == question;

    bool failed_as_documented = false;
    // [snippet:errors]
    session.close();  // abortive: pending and later operations fail with the terminal error
    try {
        asio::async_write(s, asio::buffer(question), asio::use_future).get();
    } catch (std::system_error const& e) {
        std::error_code const ec = e.code();
        if (ec == smux::condition::session_terminated) {  // the session is over: open a new one
            std::cout << "write failed: " << ec.message()
                      << " (session ended: " << session.terminal_error()->message() << ")\n";
        }
        failed_as_documented = ec == smux::error::session_closed;
    }
    // [end-snippet]
    ok = ok && failed_as_documented;

    work.reset();
    io_thread.join();  // the server's session ends with the connection
    std::cout << (ok ? "ok\n" : "FAILED\n");
    return ok ? 0 : 1;
}
