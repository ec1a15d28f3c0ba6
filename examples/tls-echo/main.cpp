// TLS and smux, both ways round, over one TCP connection on 127.0.0.1:
// - default: smux over TLS. One TLS session protects the connection; a smux session runs
//   inside it (`smux::ssl_session`), and its streams are plain smux streams.
// - --tls-per-stream: TLS inside one smux stream (`asio::ssl::stream<smux::stream>`), for a
//   stream that must be protected end to end while others are not.
// The client verifies the server's certificate (a self-signed one made at start-up). Prints
// the replies; exits non-zero unless each one came back intact.

#include <array>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>
#include <smux/ssl.hpp>

#include "self_signed.hpp"

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Echoes one line: reads up to '\n', writes it back.
template <class Stream>
asio::awaitable<void> echo_line(Stream& s) {
    std::string line;
    co_await asio::async_read_until(s, asio::dynamic_buffer(line), '\n', asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(line), asio::use_awaitable);
}

// Writes `question` and a newline, reads the reply line (without its newline).
template <class Stream>
asio::awaitable<std::string> ask_line(Stream& s, std::string question) {
    question += '\n';
    co_await asio::async_write(s, asio::buffer(question), asio::use_awaitable);
    std::string reply;
    std::size_t const n =
        co_await asio::async_read_until(s, asio::dynamic_buffer(reply), '\n', asio::use_awaitable);
    reply.resize(n - 1);
    co_return reply;
}

// ---- smux over TLS

asio::awaitable<void> echo_plain_stream(smux::stream s) {
    co_await echo_line(s);
}

// [snippet:smux-over-tls-server]
asio::awaitable<void> serve_smux_over_tls(tcp::socket socket, asio::ssl::context& tls_context) {
    asio::ssl::stream<tcp::socket> tls(std::move(socket), tls_context);
    co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    smux::ssl_session<> session(smux::role::server, std::move(tls));  // after the handshake
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        asio::co_spawn(session.get_executor(), echo_plain_stream(std::move(s)), asio::detached);
    }
}
// [end-snippet]

asio::awaitable<std::string> ask_plain_stream(smux::ssl_session<>& session, std::string question) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_return co_await ask_line(s, std::move(question));
}

// [snippet:smux-over-tls-client]
asio::awaitable<bool> client_smux_over_tls(tcp::endpoint server, asio::ssl::context& tls_context) {
    asio::ssl::stream<tcp::socket> tls(co_await asio::this_coro::executor, tls_context);
    tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    co_await tls.next_layer().async_connect(server, asio::use_awaitable);
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    smux::ssl_session<> session(smux::role::client, std::move(tls));

    auto [one, two] =
        co_await (ask_plain_stream(session, "one") && ask_plain_stream(session, "two"));
    std::cout << one << ' ' << two << '\n';
    co_await session.async_shutdown(asio::use_awaitable);  // smux FINs, then TLS close_notify
    co_return one == "one" && two == "two";
}
// [end-snippet]

// ---- TLS inside one smux stream

// [snippet:tls-per-stream-server]
asio::awaitable<void> echo_tls_stream(smux::stream s, asio::ssl::context& tls_context) {
    asio::ssl::stream<smux::stream> tls(std::move(s), tls_context);
    co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    co_await echo_line(tls);
    std::array<char, 1> rest;  // waits for the client's close_notify, then answers it
    auto [ec, n] = co_await tls.async_read_some(asio::buffer(rest), as_tuple);
    if (ec == asio::error::eof) {
        co_await tls.async_shutdown(as_tuple);
    }
}
// [end-snippet]

asio::awaitable<void> serve_tls_per_stream(tcp::socket socket, asio::ssl::context& tls_context) {
    smux::tcp_session session(smux::role::server, std::move(socket));
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        asio::co_spawn(session.get_executor(), echo_tls_stream(std::move(s), tls_context),
                       asio::detached);
    }
}

// [snippet:tls-per-stream-client]
asio::awaitable<std::string> ask_over_tls(smux::tcp_session& session,
                                          asio::ssl::context& tls_context, std::string question) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    asio::ssl::stream<smux::stream> tls(std::move(s), tls_context);
    tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    std::string reply = co_await ask_line(tls, std::move(question));
    co_await tls.async_shutdown(asio::use_awaitable);  // close_notify both ways
    co_return reply;
}
// [end-snippet]

asio::awaitable<bool> client_tls_per_stream(tcp::endpoint server, asio::ssl::context& tls_context) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    smux::tcp_session session(smux::role::client, std::move(socket));
    auto [one, two] = co_await (ask_over_tls(session, tls_context, "one") &&
                                ask_over_tls(session, tls_context, "two"));
    std::cout << one << ' ' << two << '\n';
    co_await session.async_shutdown(asio::use_awaitable);
    co_return one == "one" && two == "two";
}

}  // namespace

int main(int argc, char** argv) {
    bool const per_stream = argc > 1 && std::string_view(argv[1]) == "--tls-per-stream";
    tls_example::identity const id = tls_example::make_self_signed();
    asio::ssl::context server_context(asio::ssl::context::tls_server);
    server_context.use_certificate_chain(asio::buffer(id.certificate_pem));
    server_context.use_private_key(asio::buffer(id.private_key_pem), asio::ssl::context::pem);
    asio::ssl::context client_context(asio::ssl::context::tls_client);
    client_context.add_certificate_authority(asio::buffer(id.certificate_pem));
    client_context.set_verify_mode(asio::ssl::verify_peer);

    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
            if (per_stream) {
                co_await serve_tls_per_stream(std::move(socket), server_context);
            } else {
                co_await serve_smux_over_tls(std::move(socket), server_context);
            }
        },
        asio::detached);

    bool echoed = false;
    auto const server = acceptor.local_endpoint();
    auto client = per_stream ? client_tls_per_stream(server, client_context)
                             : client_smux_over_tls(server, client_context);
    asio::co_spawn(io, std::move(client), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        echoed = ok;
    });
    io.run();
    std::cout << (echoed ? "every stream echoed over TLS\n" : "echo FAILED\n");
    return echoed ? 0 : 1;
}
