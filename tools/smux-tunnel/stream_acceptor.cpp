#include "stream_acceptor.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <system_error>

#include "address.hpp"
#include "spawn.hpp"

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::optional<asio::ip::tcp::acceptor> try_listen(asio::any_io_executor const& ex,
                                                  asio::ip::tcp::endpoint const& ep,
                                                  asio::error_code& ec) {
    asio::ip::tcp::acceptor a(ex);
    a.open(ep.protocol(), ec);
    if (!ec) {
        a.set_option(asio::socket_base::reuse_address(true), ec);  // as Go's Listen
    }
    if (!ec) {
        a.bind(ep, ec);
    }
    if (!ec) {
        a.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return std::nullopt;
    }
    return a;
}

}  // namespace

asio::awaitable<asio::ip::tcp::acceptor> listen_tcp(std::string const& listen) {
    auto const ex = co_await asio::this_coro::executor;
    auto const hp = split_host_port(listen, "--listen");  // validated: a host:port
    std::optional<std::system_error> failure;
    for (auto const& ep : co_await resolve_tcp(*hp)) {
        asio::error_code ec;
        if (auto a = try_listen(ex, ep, ec)) {
            co_return std::move(*a);
        }
        failure = std::system_error(ec, "listening on " + to_string(ep));
    }
    throw failure.value_or(
        std::system_error(std::make_error_code(std::errc::address_not_available)));
}

stream_acceptor::stream_acceptor(asio::ip::tcp::acceptor acceptor, upgrade_fn upgrade, logger& log)
    : acceptor_(std::move(acceptor)),
      upgrade_(std::move(upgrade)),
      log_(log),
      wake_(acceptor_.get_executor()) {
    wake_.expires_at(asio::steady_timer::clock_type::time_point::max());
    spawn_logged(acceptor_.get_executor(), accept_loop(), log_, "session accept loop");
}

asio::awaitable<std::shared_ptr<mux_session>> stream_acceptor::accept() {
    while (ready_.empty() && !closed_) {
        (void)co_await wake_.async_wait(as_tuple);
    }
    if (closed_) {
        co_return nullptr;
    }
    auto session = std::move(ready_.front());
    ready_.pop_front();
    co_return session;
}

std::string stream_acceptor::local_address() const {
    asio::error_code ec;
    return to_string(acceptor_.local_endpoint(ec));
}

void stream_acceptor::close() {
    closed_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    for (auto* deadline : deadlines_) {
        deadline->cancel();  // ends that upgrade now
    }
    for (auto const& session : ready_) {
        session->close();
    }
    ready_.clear();
    wake_.cancel();
}

asio::awaitable<void> stream_acceptor::accept_loop() {
    while (!closed_) {
        auto [ec, socket] = co_await acceptor_.async_accept(as_tuple);
        if (closed_) {
            co_return;
        }
        if (ec) {
            // Out of descriptors, most likely: let connections end before the next try.
            log_.error("accept: " + ec.message());
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
            (void)co_await pause.async_wait(as_tuple);
            continue;
        }
        spawn_logged(acceptor_.get_executor(), upgrade(std::move(socket)), log_, "session");
    }
}

asio::awaitable<void> stream_acceptor::upgrade(asio::ip::tcp::socket socket) {
    using namespace asio::experimental::awaitable_operators;
    asio::error_code ec;
    std::string const peer = to_string(socket.remote_endpoint(ec));
    socket.set_option(asio::ip::tcp::no_delay(true), ec);  // as Go's net package
    asio::steady_timer deadline(acceptor_.get_executor(), handshake_timeout);
    deadlines_.insert(&deadline);
    auto outcome = co_await (upgrade_(std::move(socket), peer) || deadline.async_wait(as_tuple));
    deadlines_.erase(&deadline);
    if (outcome.index() == 1) {
        if (!closed_) {
            log_.warn("session from " + peer + " not set up within " +
                      std::to_string(handshake_timeout.count()) + " s: dropped");
        }
        co_return;
    }
    auto session = std::get<0>(std::move(outcome));
    if (!session) {
        co_return;
    }
    if (closed_) {
        session->close();
        co_return;
    }
    ready_.push_back(std::move(session));
    wake_.cancel();
}

}  // namespace smux_tunnel
