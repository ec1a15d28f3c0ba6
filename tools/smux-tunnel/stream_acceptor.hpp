#ifndef SMUX_TOOLS_TUNNEL_STREAM_ACCEPTOR_HPP
#define SMUX_TOOLS_TUNNEL_STREAM_ACCEPTOR_HPP

// The server's side of --transport tcp and tls: a TCP listener whose connections become
// sessions through an upgrade (a TLS handshake, or nothing), each on its own, so one slow or
// silent client delays no other.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "logger.hpp"
#include "transport.hpp"

namespace smux_tunnel {

/// How long a new connection may take to become a session (a TLS handshake), and a dial to
/// connect: long enough for a slow path, short enough that a silent peer is noticed.
inline constexpr std::chrono::seconds handshake_timeout{10};

/// A listening TCP socket on `listen` (kcptun's ":port" form: IPv6 dual-stack, else IPv4).
/// @throws std::system_error when no address of it can be bound.
[[nodiscard]] asio::awaitable<asio::ip::tcp::acceptor> listen_tcp(std::string const& listen);

class stream_acceptor final : public session_acceptor {
  public:
    /// Makes a session of an accepted connection (from the peer named in the second
    /// argument); null when it failed, after logging why.
    using upgrade_fn = std::function<asio::awaitable<std::shared_ptr<mux_session>>(
        asio::ip::tcp::socket, std::string)>;

    stream_acceptor(asio::ip::tcp::acceptor acceptor, upgrade_fn upgrade, logger& log);

    [[nodiscard]] asio::awaitable<std::shared_ptr<mux_session>> accept() override;
    [[nodiscard]] std::string local_address() const override;
    void close() override;

  private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> upgrade(asio::ip::tcp::socket socket);

    asio::ip::tcp::acceptor acceptor_;
    upgrade_fn upgrade_;
    logger& log_;
    std::deque<std::shared_ptr<mux_session>> ready_;
    asio::steady_timer wake_;                  ///< never expires: cancel() wakes a waiting accept()
    std::set<asio::steady_timer*> deadlines_;  ///< of the upgrades under way
    bool closed_ = false;
};

}  // namespace smux_tunnel

#endif
