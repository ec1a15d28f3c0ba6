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

/** Echoes `s` until the peer's FIN or an error, then closes it. Driven by callbacks on the
    session's strand: while the stream is idle, all it holds is a parked wait and a small
    object (no coroutine frame, no buffer). `gauge` may be null; it must outlive the stream's
    session. */
void start_echo(smux::stream s, echo_write_gauge* gauge = nullptr);

/// Accepts connections until the acceptor is closed; every connection becomes a server
/// session whose streams are echoed until the peer's FIN, then closed. A failing session
/// ends alone; the others go on.
asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg);

}  // namespace smux_echo

#endif
