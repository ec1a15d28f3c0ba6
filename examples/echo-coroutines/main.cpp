// Echo over smux with C++20 coroutines: a server that echoes every stream it accepts, and a
// client that asks three questions at once, each on its own stream, over one TCP connection
// to it (127.0.0.1, a port the system picks). Prints the replies; exits non-zero unless each
// one came back intact.

#include <array>
#include <exception>
#include <iostream>
#include <string>
#include <tuple>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// [snippet:echo]
// Sends back every byte until the peer's FIN, then ends the stream (its destructor sends
// our FIN).
asio::awaitable<void> echo(smux::stream s) {
    std::array<char, 4096> buffer;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buffer), as_tuple);
        if (ec) {
            co_return;  // asio::error::eof after the peer's FIN, or the session ended
        }
        auto [write_ec, written] = co_await asio::async_write(s, asio::buffer(buffer, n), as_tuple);
        if (write_ec) {
            co_return;
        }
    }
}
// [end-snippet]

// [snippet:server]
// One connection: accepts streams until the session ends.
asio::awaitable<void> serve(tcp::socket socket) {
    smux::tcp_session session(smux::role::server, std::move(socket));
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;  // the session ended: ec == smux::condition::session_terminated
        }
        // session.get_executor(), not s.get_executor(): the order in which the arguments
        // are evaluated is unspecified, and `s` may be moved from first.
        asio::co_spawn(session.get_executor(), echo(std::move(s)), asio::detached);
    }
}
// [end-snippet]

asio::awaitable<void> accept_one(tcp::acceptor& acceptor) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    co_await serve(std::move(socket));
}

// [snippet:ask]
// One question on its own stream: write it, half-close, read the reply to end of file.
asio::awaitable<std::string> ask(smux::tcp_session& session, std::string question) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(question), asio::use_awaitable);
    s.shutdown_send();  // FIN: the peer reads the question, then end of file
    std::string reply;
    auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(reply), as_tuple);
    if (ec != asio::error::eof) {
        throw std::system_error(ec);  // the reply ends with the peer's FIN, nothing else
    }
    co_return reply;
}
// [end-snippet]

// [snippet:client]
asio::awaitable<bool> client(tcp::endpoint server) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    smux::tcp_session session(smux::role::client, std::move(socket));

    // Three streams in flight at once over the one connection.
    auto [one, two, three] =
        co_await (ask(session, "one") && ask(session, "two") && ask(session, "three"));
    std::cout << one << ' ' << two << ' ' << three << '\n';

    co_await session.async_shutdown(asio::use_awaitable);  // FIN everywhere, flush, close
    co_return one == "one" && two == "two" && three == "three";
}
// [end-snippet]

}  // namespace

int main() {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(io, accept_one(acceptor), asio::detached);

    bool echoed = false;
    asio::co_spawn(io, client(acceptor.local_endpoint()), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        echoed = ok;
    });
    io.run();  // returns once the client is done and the server saw its session end
    std::cout << (echoed ? "every stream echoed\n" : "echo FAILED\n");
    return echoed ? 0 : 1;
}
