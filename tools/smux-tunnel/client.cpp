#include "client.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <system_error>

#include "spawn.hpp"

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

client_role::client_role(asio::io_context& ioc, tunnel_options o, logger& log)
    : ioc_(ioc),
      options_(std::move(o)),
      log_(log),
      acceptor_(ioc),
      dialer_(make_dialer(ioc.get_executor(), options_, log)),
      pool_(ioc.get_executor(), *dialer_, options_, log),
      status_(
          ioc.get_executor(), std::chrono::seconds(options_.status_interval),
          [this] { return sample(); }, log) {}

asio::awaitable<void> client_role::start() {
    auto const hp = split_host_port(options_.localaddr, "--localaddr");  // validated
    std::optional<std::system_error> failure;
    for (auto const& ep : co_await resolve_tcp(*hp)) {
        local_endpoint const local(ep);
        acceptor_type a(ioc_);
        asio::error_code ec;
        a.open(local.protocol(), ec);
        if (!ec) {
            a.set_option(asio::socket_base::reuse_address(true), ec);  // as Go's ListenTCP
        }
        if (!ec) {
            a.bind(local, ec);
        }
        if (!ec) {
            a.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            failure = std::system_error(ec, "listening on " + to_string(ep));
            continue;  // ":port" tries IPv6 (dual-stack), then IPv4
        }
        acceptor_ = std::move(a);
        log_.info("listening on: " + to_string(acceptor_.local_endpoint()));
        log_.info("remote address: " + options_.remoteaddr);
        spawn_logged(ioc_.get_executor(), accept_loop(), log_, "accept loop");
        status_.start();
        co_return;
    }
    throw failure.value_or(
        std::system_error(std::make_error_code(std::errc::address_not_available)));
}

void client_role::stop() {
    stopped_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    pool_.stop();
    forwarders_.close_all("shutting down");
    status_.stop();
}

status_sample client_role::sample() {
    status_sample s;
    s.sessions = pool_.open_sessions();
    s.streams = forwarders_.size();
    s.sent = forwarders_.total().sent;
    s.received = forwarders_.total().received;
    if (options_.transport == transport_kind::kcp) {
        s.link = pool_.links();
    }
    return s;
}

asio::awaitable<void> client_role::accept_loop() {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(as_tuple);
        if (stopped_) {
            break;
        }
        if (ec) {
            // Out of descriptors, most likely: let connections end before the next try.
            log_.error("accept: " + ec.message());
            asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
            (void)co_await pause.async_wait(as_tuple);
            continue;
        }
        asio::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // as Go's net package
        spawn_logged(ioc_.get_executor(), forward(std::move(socket)), log_, "connection");
    }
}

asio::awaitable<void> client_role::forward(local_socket socket) {
    asio::error_code ec;
    auto const peer = socket.remote_endpoint(ec);
    std::string const in = ec ? "(unknown)" : to_string(peer);
    auto const session = co_await pool_.pick();
    if (!session || stopped_) {
        co_return;
    }
    auto [open_error, stream] = co_await session->open_stream();
    if (open_error) {
        log_.error("stream for " + in + " over " + session->name() +
                   " not opened: " + open_error.message());
        co_return;
    }
    if (stopped_) {
        co_return;
    }
    std::string route;  // for the stream lines only: --quiet keeps none per connection
    if (log_.shows_stream_events()) {
        route = "in: " + in + " out: " + session->name() + " stream " + std::to_string(stream.id());
        log_.stream_event("stream opened " + route);
    }
    // The connection goes on without this coroutine: its frame is not kept while it idles.
    forwarder::start(std::move(socket), std::move(stream), std::move(route), forwarders_, buffers_,
                     log_);
}

}  // namespace smux_tunnel
