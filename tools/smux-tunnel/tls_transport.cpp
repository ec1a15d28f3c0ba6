#include "tls_transport.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "stream_acceptor.hpp"
#include "stream_session.hpp"
#include "tcp_dial.hpp"
#include "tls_context.hpp"

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

class tls_dialer final : public dialer {
  public:
    tls_dialer(tunnel_options const& o, logger& log)
        : remote_(o.remoteaddr),
          tls_(make_tls_context(o)),
          smux_(smux_config(o)),
          compress_(!o.nocomp),
          log_(log) {}

    asio::awaitable<dial_result> dial() override {
        using namespace asio::experimental::awaitable_operators;
        auto connection = co_await dial_tcp(remote_);
        if (!connection.socket) {
            co_return dial_result{nullptr, connection.failure};
        }
        tls_stream tls(std::move(*connection.socket), tls_);
        expect_server_name(tls, connection.host);
        asio::steady_timer deadline(tls.get_executor(), handshake_timeout);
        auto outcome = co_await (tls.async_handshake(asio::ssl::stream_base::client, as_tuple) ||
                                 deadline.async_wait(as_tuple));
        if (outcome.index() == 1) {
            co_return dial_result{nullptr, "TLS handshake with " + remote_ + ": no answer within " +
                                               std::to_string(handshake_timeout.count()) + " s"};
        }
        if (auto const [ec] = std::get<0>(outcome); ec) {
            co_return dial_result{nullptr, "TLS handshake with " + remote_ +
                                               " failed: " + describe_handshake_failure(tls, ec) +
                                               " (check --tls-ca, and that the server's "
                                               "certificate names " +
                                               connection.host + ")"};
        }
        std::string name = "tls " + connection.peer;
        log_.info("smux version: " + std::to_string(smux_.version) + " on connection: " + name);
        co_return dial_result{make_stream_session(smux::role::client, std::move(tls), smux_,
                                                  std::move(name), compress_),
                              {}};
    }

  private:
    std::string remote_;
    asio::ssl::context tls_;
    smux::config smux_;
    bool compress_;
    logger& log_;
};

/// A coroutine of its own, not a lambda's: its arguments live in its frame. The acceptor
/// bounds it in time.
asio::awaitable<std::shared_ptr<mux_session>> accepted_session(asio::ip::tcp::socket socket,
                                                               std::string peer,
                                                               asio::ssl::context& ctx,
                                                               smux::config cfg, bool compress,
                                                               logger& log) {
    tls_stream tls(std::move(socket), ctx);
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, as_tuple);
    if (ec) {
        log.warn("TLS handshake from " + peer + " failed: " + describe_handshake_failure(tls, ec));
        co_return nullptr;
    }
    std::string name = "tls " + peer;
    log.info("smux version: " + std::to_string(cfg.version) + " on connection: " + name);
    co_return make_stream_session(smux::role::server, std::move(tls), cfg, std::move(name),
                                  compress);
}

}  // namespace

std::unique_ptr<dialer> make_tls_dialer(asio::any_io_executor, tunnel_options const& o,
                                        logger& log) {
    return std::make_unique<tls_dialer>(o, log);
}

asio::awaitable<std::unique_ptr<session_acceptor>> make_tls_acceptor(tunnel_options const& o,
                                                                     logger& log) {
    // Shared by every handshake; lives as long as the acceptor's upgrade function.
    auto ctx = std::make_shared<asio::ssl::context>(make_tls_context(o));
    auto upgrade = [ctx, cfg = smux_config(o), compress = !o.nocomp, &log](
                       asio::ip::tcp::socket socket, std::string peer) {
        return accepted_session(std::move(socket), std::move(peer), *ctx, cfg, compress, log);
    };
    co_return std::make_unique<stream_acceptor>(co_await listen_tcp(o.listen), std::move(upgrade),
                                                log);
}

}  // namespace smux_tunnel
