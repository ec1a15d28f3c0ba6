#include "echo_client.hpp"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <memory>
#include <smux/smux.hpp>
#include <string>
#include <vector>

namespace smux_echo {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

struct round_trip {
    std::string sent;
    std::string received;
    std::uint32_t id = 0;
    smux::error_code ec;
    bool done = false;
};

asio::awaitable<void> talk(smux::stream s, round_trip& r) {
    r.id = s.id();
    auto [wec, written] = co_await asio::async_write(s, asio::buffer(r.sent), as_tuple);
    if (wec) {
        r.ec = wec;
        co_return;
    }
    s.shutdown_send();  // the server echoes until our FIN, then closes
    std::string reply(r.sent.size() + 1, '\0');
    auto [rec, n] = co_await asio::async_read(s, asio::buffer(reply), as_tuple);
    reply.resize(n);
    r.received = std::move(reply);
    if (rec != asio::error::eof) {
        r.ec = rec;
    }
    r.done = true;
}

}  // namespace

asio::awaitable<int> run_echo_client(asio::ip::tcp::endpoint server, int streams, smux::config cfg,
                                     std::ostream& out) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(ex);
    co_await socket.async_connect(server, asio::use_awaitable);
    socket.set_option(asio::ip::tcp::no_delay(true));
    smux::tcp_session session(smux::role::client, std::move(socket), cfg);

    std::vector<round_trip> trips(static_cast<std::size_t>(streams));
    std::size_t finished = 0;
    auto all_done = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < trips.size(); ++i) {
        trips[i].sent = "message " + std::to_string(i) + " of " + std::to_string(streams) +
                        " through one smux session";
        auto s = co_await session.async_open_stream(asio::use_awaitable);
        asio::co_spawn(ex, talk(std::move(s), trips[i]),
                       [&finished, &trips, all_done](std::exception_ptr) {
                           if (++finished == trips.size()) {
                               all_done->cancel();
                           }
                       });
    }
    if (finished < trips.size()) {
        co_await all_done->async_wait(as_tuple);
    }

    int failures = 0;
    for (auto const& r : trips) {
        bool const ok = r.done && !r.ec && r.received == r.sent;
        failures += ok ? 0 : 1;
        out << "stream " << r.id << ": \"" << r.received << "\" "
            << (ok ? "ok" : "MISMATCH" + (r.ec ? " (" + r.ec.message() + ")" : std::string{}))
            << '\n';
    }
    co_await session.async_shutdown(as_tuple);
    co_return failures;
}

}  // namespace smux_echo
