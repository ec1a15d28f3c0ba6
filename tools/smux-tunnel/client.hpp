#ifndef SMUX_TOOLS_TUNNEL_CLIENT_HPP
#define SMUX_TOOLS_TUNNEL_CLIENT_HPP

// The client role (kcptun-client): accepts local TCP connections and forwards each as one
// smux stream over the session pool.

#include <asio/awaitable.hpp>
#include <asio/basic_socket_acceptor.hpp>
#include <asio/io_context.hpp>
#include <memory>

#include "address.hpp"
#include "buffer_pool.hpp"
#include "forwarder.hpp"
#include "logger.hpp"
#include "options.hpp"
#include "session_pool.hpp"
#include "status_line.hpp"
#include "transport.hpp"

namespace smux_tunnel {

class client_role {
  public:
    client_role(asio::io_context& ioc, tunnel_options o, logger& log);

    /// Binds --localaddr (logging "listening on: ADDRESS") and starts accepting.
    /// @throws std::system_error when it cannot bind.
    [[nodiscard]] asio::awaitable<void> start();

    /// Stops accepting and ends every session and connection; the loop then runs dry.
    void stop();

  private:
    using acceptor_type = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> forward(local_socket socket);
    [[nodiscard]] status_sample sample();

    asio::io_context& ioc_;
    tunnel_options options_;
    logger& log_;
    acceptor_type acceptor_;
    std::unique_ptr<dialer> dialer_;
    session_pool pool_;
    buffer_pool buffers_;
    forwarder_set forwarders_;
    status_reporter status_;
    bool stopped_ = false;
};

}  // namespace smux_tunnel

#endif
