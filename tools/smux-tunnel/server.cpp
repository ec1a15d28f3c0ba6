#include "server.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>
#include <tuple>

#include "address.hpp"
#include "spawn.hpp"

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

server_role::server_role(asio::io_context& ioc, tunnel_options o, logger& log)
    : ioc_(ioc),
      options_(std::move(o)),
      log_(log),
      status_(
          ioc.get_executor(), std::chrono::seconds(options_.status_interval),
          [this] { return sample(); }, log) {}

asio::awaitable<void> server_role::start() {
    acceptor_ = co_await make_session_acceptor(options_, log_);
    log_.info("listening on: " + acceptor_->local_address());
    log_.info("target: " + options_.target);
    spawn_logged(ioc_.get_executor(), accept_loop(), log_, "accept loop");
    status_.start();
}

void server_role::stop() {
    stopped_ = true;
    auto const sessions = live_;  // watch() erases as the sessions end
    for (auto const& session : sessions) {
        session->close();  // before the listener, which would fail them from below
    }
    if (acceptor_) {
        acceptor_->close();
    }
    forwarders_.close_all("shutting down");
    status_.stop();
}

status_sample server_role::sample() {
    status_sample s;
    s.sessions = live_.size();
    s.streams = forwarders_.size();
    s.sent = forwarders_.total().sent;
    s.received = forwarders_.total().received;
    if (options_.transport == transport_kind::kcp) {
        s.link = ended_links_;
        for (auto const& session : live_) {
            *s.link += session->link();
        }
    }
    return s;
}

asio::awaitable<void> server_role::accept_loop() {
    while (!stopped_) {
        auto session = co_await acceptor_->accept();
        if (!session || stopped_) {
            break;
        }
        live_.insert(session);
        spawn_logged(ioc_.get_executor(), watch(session), log_, "session");
        spawn_logged(ioc_.get_executor(), serve(std::move(session)), log_, "session");
    }
}

asio::awaitable<void> server_role::watch(std::shared_ptr<mux_session> session) {
    session_end const end = co_await session->supervise();
    std::string const line = "session " + session->name() + " ended: " + end.reason;
    if (end.closed_here) {
        log_.info(line);
    } else {
        log_.warn(line);
    }
    ended_links_ += session->link();
    live_.erase(session);
}

asio::awaitable<void> server_role::serve(std::shared_ptr<mux_session> session) {
    for (;;) {
        auto [ec, stream] = co_await session->accept_stream();
        if (ec || stopped_) {
            co_return;  // the session ended: watch() logs why
        }
        spawn_logged(ioc_.get_executor(), forward(std::move(stream), session->name()), log_,
                     "connection");
    }
}

asio::awaitable<void> server_role::forward(smux::stream stream, std::string session_name) {
    std::string const in = session_name + " stream " + std::to_string(stream.id());
    local_socket socket(ioc_);
    asio::error_code ec;
    try {
        auto const endpoints = co_await resolve_target(options_.target);
        std::tie(ec, std::ignore) = co_await asio::async_connect(socket, endpoints, as_tuple);
    } catch (std::system_error const& e) {
        ec = e.code();
    }
    if (stopped_) {
        co_return;
    }
    if (ec) {
        // kcptun logs this whatever --quiet says, and so do we: the target is down.
        log_.warn("stream " + in + ": target " + options_.target + ": " + ec.message());
        stream.close();  // FIN: the client's connection ends, and only that one
        co_return;
    }
    asio::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // fails on a Unix socket
    std::string route;  // for the stream lines only: --quiet keeps none per connection
    if (log_.shows_stream_events()) {
        route = "in: " + in + " out: " + to_string(socket.remote_endpoint(ignored));
        log_.stream_event("stream opened " + route);
    }
    // The connection goes on without this coroutine: its frame is not kept while it idles.
    forwarder::start(std::move(socket), std::move(stream), std::move(route), forwarders_, buffers_,
                     log_);
}

}  // namespace smux_tunnel
