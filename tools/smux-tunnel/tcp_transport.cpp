#include "tcp_transport.hpp"

#include "stream_acceptor.hpp"
#include "stream_session.hpp"
#include "tcp_dial.hpp"

namespace smux_tunnel {

namespace {

class tcp_dialer final : public dialer {
  public:
    tcp_dialer(tunnel_options const& o, logger& log)
        : remote_(o.remoteaddr), smux_(smux_config(o)), compress_(!o.nocomp), log_(log) {}

    asio::awaitable<dial_result> dial() override {
        auto connection = co_await dial_tcp(remote_);
        if (!connection.socket) {
            co_return dial_result{nullptr, connection.failure};
        }
        std::string name = "tcp " + connection.peer;
        log_.info("smux version: " + std::to_string(smux_.version) + " on connection: " + name);
        co_return dial_result{make_stream_session(smux::role::client, std::move(*connection.socket),
                                                  smux_, std::move(name), compress_),
                              {}};
    }

  private:
    std::string remote_;
    smux::config smux_;
    bool compress_;
    logger& log_;
};

/// A coroutine of its own, not a lambda's: its arguments live in its frame.
asio::awaitable<std::shared_ptr<mux_session>> accepted_session(asio::ip::tcp::socket socket,
                                                               std::string peer, smux::config cfg,
                                                               bool compress, logger& log) {
    std::string name = "tcp " + peer;
    log.info("smux version: " + std::to_string(cfg.version) + " on connection: " + name);
    co_return make_stream_session(smux::role::server, std::move(socket), cfg, std::move(name),
                                  compress);
}

}  // namespace

std::unique_ptr<dialer> make_tcp_dialer(asio::any_io_executor, tunnel_options const& o,
                                        logger& log) {
    return std::make_unique<tcp_dialer>(o, log);
}

asio::awaitable<std::unique_ptr<session_acceptor>> make_tcp_acceptor(tunnel_options const& o,
                                                                     logger& log) {
    auto upgrade = [cfg = smux_config(o), compress = !o.nocomp, &log](asio::ip::tcp::socket socket,
                                                                      std::string peer) {
        return accepted_session(std::move(socket), std::move(peer), cfg, compress, log);
    };
    co_return std::make_unique<stream_acceptor>(co_await listen_tcp(o.listen), std::move(upgrade),
                                                log);
}

}  // namespace smux_tunnel
