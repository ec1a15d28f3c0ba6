#ifndef SMUX_EXAMPLES_ECHO_SERVER_HPP
#define SMUX_EXAMPLES_ECHO_SERVER_HPP

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <smux/config.hpp>

namespace smux_echo {

/// The read buffer of one echo stream. Every accepted stream holds one, also while idle (the
/// stream's coroutine waits in a read into it): the tool's own memory cost per stream.
inline constexpr std::size_t echo_buffer_size = 16 * 1024;

/// Accepts connections until the acceptor is closed; every connection becomes a server
/// session whose streams are echoed until the peer's FIN, then closed. A failing session
/// ends alone; the others go on.
asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg);

}  // namespace smux_echo

#endif
