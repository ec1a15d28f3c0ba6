#ifndef SMUX_TOOLS_TUNNEL_TCP_DIAL_HPP
#define SMUX_TOOLS_TUNNEL_TCP_DIAL_HPP

// The client's TCP connection to the server, for --transport tcp and tls.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>

namespace smux_tunnel {

struct tcp_dial_result {
    std::optional<asio::ip::tcp::socket> socket;  ///< empty on failure
    std::string host;     ///< the host part of the address dialed (for TLS's name check)
    std::string peer;     ///< the endpoint connected to, for the log
    std::string failure;  ///< why not, for the log
};

/// Connects to `remote` (host:port, validated) within `handshake_timeout`, with TCP_NODELAY
/// as Go sets it.
[[nodiscard]] asio::awaitable<tcp_dial_result> dial_tcp(std::string const& remote);

}  // namespace smux_tunnel

#endif
