#ifndef SMUX_TOOLS_TUNNEL_ADDRESS_HPP
#define SMUX_TOOLS_TUNNEL_ADDRESS_HPP

// Addresses as kcptun writes them ("host:port", ":port", "[v6]:port", a Unix socket path for
// the server's target) and as the logs show them.

#include <asio/awaitable.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <vector>

namespace smux_tunnel {

/// The plain socket on the local side of a forwarded connection: TCP, or a Unix socket for a
/// server's target (kcptun's `-t path`).
using local_socket = asio::generic::stream_protocol::socket;
using local_endpoint = asio::generic::stream_protocol::endpoint;

struct host_port {
    std::string host;  ///< without brackets; empty for ":port"
    unsigned short port = 0;
};

/// Go's net.SplitHostPort with a numeric port: empty when `text` has no host:port shape.
/// @throws usage_error (options.hpp) naming `flag` when the port is not a number in 0..65535.
[[nodiscard]] std::optional<host_port> split_host_port(std::string const& text, char const* flag);

/// "127.0.0.1:40123", "[::1]:40123", or a Unix socket's path.
[[nodiscard]] std::string to_string(asio::ip::tcp::endpoint const& ep);
[[nodiscard]] std::string to_string(asio::ip::udp::endpoint const& ep);
[[nodiscard]] std::string to_string(local_endpoint const& ep);

/// Where to listen for `hp`: its numeric address, or every address for an empty host (as Go,
/// dual-stack IPv6 when the system has it). Host names are resolved.
[[nodiscard]] asio::awaitable<std::vector<asio::ip::tcp::endpoint>> resolve_tcp(host_port hp);
[[nodiscard]] asio::awaitable<std::vector<asio::ip::udp::endpoint>> resolve_udp(host_port hp);

/// The endpoints of a server's target: TCP for host:port (resolved now: Go's net.Dial does it
/// for every connection), else a Unix socket path.
[[nodiscard]] asio::awaitable<std::vector<local_endpoint>> resolve_target(std::string target);

}  // namespace smux_tunnel

#endif
