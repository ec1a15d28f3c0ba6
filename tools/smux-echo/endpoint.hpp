#ifndef SMUX_EXAMPLES_ENDPOINT_HPP
#define SMUX_EXAMPLES_ENDPOINT_HPP

#include <asio/ip/tcp.hpp>
#include <string>

namespace smux_echo {

/// Parses "HOST:PORT" or "[V6HOST]:PORT" with a numeric host; throws std::invalid_argument.
asio::ip::tcp::endpoint parse_endpoint(std::string const& text);

/// "127.0.0.1:40123" or "[::1]:40123".
std::string format_endpoint(asio::ip::tcp::endpoint const& ep);

}  // namespace smux_echo

#endif
