// smux over KCP, as kcptun carries it: a server that listens for KCP conversations on a UDP
// port and echoes every stream, and a client that asks three questions at once, each on its
// own stream of one smux session over one KCP conversation (127.0.0.1, a port the system
// picks). Both ends use kcptun's defaults (aes, FEC 10/3, mode fast) with a shared key.
// Prints the replies; exits non-zero unless each one came back intact.

#include <array>
#include <chrono>
#include <exception>
#include <iostream>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/kcp/asio/listener.hpp>
#include <smux/kcp/asio/stream.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// [snippet:session-type]
// A smux session over one KCP conversation: what kcptun's client and server speak.
using kcp_session = smux::basic_session<smux::kcp::stream>;
// [end-snippet]

// [snippet:options]
// kcptun's flags, with its defaults unless set here; both ends need the same crypt and key.
smux::kcp::options kcp_options() {
    smux::kcp::options o;
    o.crypt = "aes";           // --crypt
    o.key = "example secret";  // --key
    o.mode = smux::kcp::mode::fast;
    return o;
}
// [end-snippet]

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

// [snippet:server]
// Serves the first conversation, then stops listening (closing the listener ends its
// conversations too). KCP has no close on the wire: the server's conversation ends when
// nothing arrived for options::idle_timeout.
asio::awaitable<void> serve(smux::kcp::listener& listener) {
    smux::kcp::stream conversation = co_await listener.async_accept(asio::use_awaitable);
    kcp_session session(smux::role::server, std::move(conversation));
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            break;  // asio::error::timed_out once the client went quiet
        }
        asio::co_spawn(session.get_executor(), echo(std::move(s)), asio::detached);
    }
    listener.close();
}
// [end-snippet]

asio::awaitable<std::string> ask(kcp_session& session, std::string question) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(question), asio::use_awaitable);
    s.shutdown_send();
    std::string reply;
    auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(reply), as_tuple);
    if (ec != asio::error::eof) {
        throw std::system_error(ec);
    }
    co_return reply;
}

// [snippet:client]
asio::awaitable<bool> client(udp::endpoint server) {
    // Not in one expression with co_await: g++ 12 mishandles such temporaries (see the guide).
    auto const ex = co_await asio::this_coro::executor;
    smux::kcp::stream conversation(ex, kcp_options());
    co_await conversation.async_connect(server, asio::use_awaitable);  // no handshake in KCP
    kcp_session session(smux::role::client, std::move(conversation));

    auto [one, two, three] =
        co_await (ask(session, "one") && ask(session, "two") && ask(session, "three"));
    std::cout << one << ' ' << two << ' ' << three << '\n';

    co_await session.async_shutdown(asio::use_awaitable);
    co_return one == "one" && two == "two" && three == "three";
}
// [end-snippet]

}  // namespace

int main() {
    asio::io_context io;
    smux::kcp::options server_options = kcp_options();
    server_options.idle_timeout = std::chrono::seconds(1);
    smux::kcp::listener listener(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                                 server_options);
    asio::co_spawn(io, serve(listener), asio::detached);

    bool echoed = false;
    asio::co_spawn(io, client(listener.local_endpoint()), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        echoed = ok;
    });
    io.run();  // returns once the client is done and the server's conversation expired
    std::cout << (echoed ? "every stream echoed over KCP\n" : "echo FAILED\n");
    return echoed ? 0 : 1;
}
