// Request/response over smux with many calls in flight: each call is one stream (the request
// is what the client writes before its FIN, the response what the server writes before its
// FIN), so calls need no ids and a slow call holds up no other. The client makes 500 calls at
// once over one TCP connection on 127.0.0.1 and checks every response. Exits non-zero unless
// all of them are right.

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int call_count = 500;

// The remote procedure: the square of a decimal number.
std::string square(std::string const& request) {
    std::int64_t const n = std::stoll(request);
    return std::to_string(n * n);
}

// [snippet:handle-call]
// One call: the request is everything before the client's FIN.
asio::awaitable<void> handle_call(smux::stream s) {
    std::string request;
    auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(request), as_tuple);
    if (ec != asio::error::eof) {
        co_return;  // the session ended before the whole request arrived
    }
    std::string const response = square(request);
    co_await asio::async_write(s, asio::buffer(response), as_tuple);
    s.shutdown_send();  // the response is complete
}
// [end-snippet]

asio::awaitable<void> serve(tcp::acceptor& acceptor) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    smux::tcp_session session(smux::role::server, std::move(socket));
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        asio::co_spawn(session.get_executor(), handle_call(std::move(s)), asio::detached);
    }
}

// [snippet:call]
// Calls the remote procedure: a stream of its own, the request, FIN, the response until the
// server's FIN.
asio::awaitable<std::string> call(smux::tcp_session& session, std::string request) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(request), asio::use_awaitable);
    s.shutdown_send();
    std::string response;
    auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(response), as_tuple);
    if (ec != asio::error::eof) {
        throw std::system_error(ec, "call");
    }
    co_return response;
}
// [end-snippet]

// [snippet:many-calls]
// Starts every call at once; a timer that never expires by itself is cancelled by the last
// call to finish, which wakes the client.
asio::awaitable<int> client(tcp::endpoint server) {
    auto const ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    co_await socket.async_connect(server, asio::use_awaitable);
    smux::tcp_session session(smux::role::client, std::move(socket));

    int right = 0;
    int pending = call_count;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < call_count; ++i) {
        asio::co_spawn(ex, call(session, std::to_string(i)),
                       [&, i](std::exception_ptr e, std::string response) {
                           right += !e && response == std::to_string(std::int64_t{i} * i) ? 1 : 0;
                           if (--pending == 0) {
                               all_done.cancel();
                           }
                       });
    }
    co_await all_done.async_wait(as_tuple);
    co_await session.async_shutdown(asio::use_awaitable);
    co_return right;
}
// [end-snippet]

}  // namespace

int main() {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(io, serve(acceptor), asio::detached);
    int right = 0;
    asio::co_spawn(io, client(acceptor.local_endpoint()), [&](std::exception_ptr e, int n) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        right = n;
    });
    io.run();
    std::cout << right << " of " << call_count << " calls answered right\n";
    return right == call_count ? 0 : 1;
}
