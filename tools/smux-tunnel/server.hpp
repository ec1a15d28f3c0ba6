#ifndef SMUX_TOOLS_TUNNEL_SERVER_HPP
#define SMUX_TOOLS_TUNNEL_SERVER_HPP

// The server role (kcptun-server): accepts sessions and connects each of their streams to
// the target.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <set>

#include "buffer_pool.hpp"
#include "forwarder.hpp"
#include "logger.hpp"
#include "options.hpp"
#include "status_line.hpp"
#include "transport.hpp"

namespace smux_tunnel {

class server_role {
  public:
    server_role(asio::io_context& ioc, tunnel_options o, logger& log);

    /// Binds --listen (logging "listening on: ADDRESS") and starts accepting sessions.
    /// @throws std::system_error when it cannot bind.
    [[nodiscard]] asio::awaitable<void> start();

    /// Stops accepting and ends every session and connection; the loop then runs dry.
    void stop();

  private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<mux_session> session);
    asio::awaitable<void> watch(std::shared_ptr<mux_session> session);
    asio::awaitable<void> forward(smux::stream stream, std::string session_name);
    [[nodiscard]] status_sample sample();

    asio::io_context& ioc_;
    tunnel_options options_;
    logger& log_;
    std::unique_ptr<session_acceptor> acceptor_;
    std::set<std::shared_ptr<mux_session>> live_;
    link_counters ended_links_;  ///< of the sessions no longer in live_
    buffer_pool buffers_;
    forwarder_set forwarders_;
    status_reporter status_;
    bool stopped_ = false;
};

}  // namespace smux_tunnel

#endif
