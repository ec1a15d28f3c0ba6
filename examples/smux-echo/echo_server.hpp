#ifndef SMUX_EXAMPLES_ECHO_SERVER_HPP
#define SMUX_EXAMPLES_ECHO_SERVER_HPP

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <smux/config.hpp>

namespace smux_echo {

/// Accepts connections until the acceptor is closed; every connection becomes a server
/// session whose streams are echoed until the peer's FIN, then closed. A failing session
/// ends alone; the others go on.
asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg);

}  // namespace smux_echo

#endif
