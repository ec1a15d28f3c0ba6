#ifndef SMUX_EXAMPLES_ECHO_SERVER_HPP
#define SMUX_EXAMPLES_ECHO_SERVER_HPP

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <smux/config.hpp>
#include <smux/stream.hpp>

namespace smux_echo {

/// The largest message one echo step reads and writes back. The buffer is allocated for one
/// message, sized to the bytes buffered, and freed once they are written back: an idle stream
/// holds none (its coroutine waits with `async_wait(wait_read)`).
inline constexpr std::size_t echo_buffer_size = 16 * 1024;

/// Echo writes in progress (blocked on the peer's window or the socket), for observers.
struct echo_write_gauge {
    int current = 0;
    int peak = 0;
};

/// Echoes `s` until the peer's FIN or an error, then closes it. Must run on the stream's
/// executor (the session's strand: its non-blocking read checks). `gauge` may be null.
asio::awaitable<void> echo_stream(smux::stream s, echo_write_gauge* gauge = nullptr);

/// Accepts connections until the acceptor is closed; every connection becomes a server
/// session whose streams are echoed until the peer's FIN, then closed. A failing session
/// ends alone; the others go on.
asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg);

}  // namespace smux_echo

#endif
