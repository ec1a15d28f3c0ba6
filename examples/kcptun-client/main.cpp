// A client of a kcptun server: one KCP conversation with kcptun's defaults (aes with its
// default key, FEC 10/3, mode fast, snappy compression), a smux session over it, and streams
// that kcptun-server turns into TCP connections to its target (`-t`). Sends a message on
// three streams at once and reads each answer; run it against a server whose target echoes
// (run-against-kcptun.sh does, with Debian's kcptun-server). Exits non-zero unless every
// answer is the message.
//
//     smux-example-kcptun-client 127.0.0.1:29900

#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/kcp/asio/compressed_stream.hpp>
#include <smux/kcp/asio/stream.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;

// [snippet:kcptun-session]
// kcptun compresses unless both ends run with --nocomp: snappy framing over the conversation.
using kcptun_carrier = smux::kcp::compressed_stream<smux::kcp::stream>;
using kcptun_session = smux::basic_session<kcptun_carrier>;

// smux::kcp::options{} is a kcptun client's defaults; set crypt, key, mode, FEC as the server
// was started. smux::config{} matches kcptun's --smuxver 1 and its keep-alive.
asio::awaitable<kcptun_session> connect_to_kcptun(udp::endpoint server) {
    // Not in one expression with co_await: g++ 12 mishandles such temporaries (see the guide).
    auto const ex = co_await asio::this_coro::executor;
    smux::kcp::stream conversation(ex, smux::kcp::options{});
    co_await conversation.async_connect(server, asio::use_awaitable);
    co_return kcptun_session(smux::role::client, kcptun_carrier(std::move(conversation)));
}
// [end-snippet]

// [snippet:round-trip]
// One TCP connection through kcptun: kcptun-server dials its target for each stream. kcptun
// ends both directions at the first end of file, so read the answer before closing.
asio::awaitable<std::string> round_trip(kcptun_session& session, std::string message) {
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(message), asio::use_awaitable);
    std::string answer(message.size(), '\0');
    co_await asio::async_read(s, asio::buffer(answer), asio::use_awaitable);
    co_return answer;  // closing `s` sends FIN: kcptun-server closes its TCP connection
}
// [end-snippet]

asio::awaitable<bool> client(udp::endpoint server) {
    kcptun_session session = co_await connect_to_kcptun(server);
    auto [one, two, three] = co_await (round_trip(session, "one") && round_trip(session, "two") &&
                                       round_trip(session, "three"));
    std::cout << one << ' ' << two << ' ' << three << '\n';
    co_await session.async_shutdown(asio::use_awaitable);
    co_return one == "one" && two == "two" && three == "three";
}

udp::endpoint parse_endpoint(std::string_view text) {
    auto const colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        throw std::invalid_argument("expected HOST:PORT, got " + std::string(text));
    }
    auto const port = static_cast<unsigned short>(std::stoi(std::string(text.substr(colon + 1))));
    return {asio::ip::make_address(std::string(text.substr(0, colon))), port};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " KCPTUN_SERVER_HOST:PORT\n";
        return 2;
    }
    asio::io_context io;
    bool answered = false;
    asio::co_spawn(io, client(parse_endpoint(argv[1])), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        answered = ok;
    });
    io.run();
    std::cout << (answered ? "every stream answered through kcptun\n" : "FAILED\n");
    return answered ? 0 : 1;
}
