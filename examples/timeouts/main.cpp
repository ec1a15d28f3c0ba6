// A timeout on one operation, with awaitable_operators: `co_await (read || timer)` cancels
// whichever loses. The server answers a question only after the client says "go", so the
// client's first read, bounded at 100 ms, must time out; the cancelled read loses nothing and
// the stream goes on, so the second read gets the whole answer. Over one TCP connection on
// 127.0.0.1. Exits non-zero unless the first read timed out and the second got the answer.

#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <variant>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

// Reads "question", then "go", then answers.
asio::awaitable<void> answer_when_told(smux::stream s) {
    std::string lines;
    co_await asio::async_read_until(s, asio::dynamic_buffer(lines), "go\n", asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(std::string("answer\n")), asio::use_awaitable);
}

asio::awaitable<void> serve(tcp::acceptor& acceptor) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    smux::tcp_session session(smux::role::server, std::move(socket));
    for (;;) {
        auto [ec, s] =
            co_await session.async_accept_stream(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        asio::co_spawn(session.get_executor(), answer_when_told(std::move(s)), asio::detached);
    }
}

// [snippet:read-with-timeout]
// Reads a line into `line`, giving up after `limit`: true when the line arrived. On a timeout
// the read is cancelled; bytes that arrived meanwhile stay in `line` or in the stream.
asio::awaitable<bool> read_line_within(smux::stream& s, std::string& line,
                                       std::chrono::milliseconds limit) {
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto result = co_await (
        asio::async_read_until(s, asio::dynamic_buffer(line), '\n', asio::use_awaitable) ||
        timer.async_wait(asio::use_awaitable));
    co_return result.index() == 0;  // 0: the read finished first, 1: the timer did
}
// [end-snippet]

asio::awaitable<bool> client(tcp::endpoint server) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    smux::tcp_session session(smux::role::client, std::move(socket));
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(std::string("question\n")), asio::use_awaitable);

    std::string line;
    bool const early = co_await read_line_within(s, line, 100ms);  // no answer before "go"
    std::cout << "first read: " << (early ? "answered" : "timed out") << '\n';

    co_await asio::async_write(s, asio::buffer(std::string("go\n")), asio::use_awaitable);
    bool const answered = co_await read_line_within(s, line, 30s);
    std::cout << "second read: " << (answered ? line : "timed out\n");
    co_await session.async_shutdown(asio::use_awaitable);
    co_return !early && answered && line == "answer\n";
}

}  // namespace

int main() {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(io, serve(acceptor), asio::detached);
    bool ok = false;
    asio::co_spawn(io, client(acceptor.local_endpoint()), [&](std::exception_ptr e, bool r) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        ok = r;
    });
    io.run();
    std::cout << (ok ? "ok\n" : "FAILED\n");
    return ok ? 0 : 1;
}
