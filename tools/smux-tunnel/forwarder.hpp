#ifndef SMUX_TOOLS_TUNNEL_FORWARDER_HPP
#define SMUX_TOOLS_TUNNEL_FORWARDER_HPP

// One forwarded connection: the bytes of a local socket and of an smux stream, both ways.

#include <cstdint>
#include <memory>
#include <optional>
#include <smux/core/intrusive_list.hpp>
#include <smux/received_buffers.hpp>
#include <smux/stream.hpp>
#include <string>

#include "address.hpp"
#include "buffer_pool.hpp"
#include "logger.hpp"

namespace smux_tunnel {

class forwarder_set;

struct forward_result {
    std::uint64_t sent = 0;      ///< local socket -> stream
    std::uint64_t received = 0;  ///< stream -> local socket
    std::string failure;         ///< empty: both directions reached their end of file
};

/// "sent N B, received M B" and the failure, if any, for the stream closed line.
[[nodiscard]] std::string summary(forward_result const& r);

/** Copies a socket to a stream and the stream to the socket until both directions ended.

    An end of file is passed on as a half-close (the socket's to the stream as FIN, the
    stream's FIN to the socket as shutdown(write)), so the other direction goes on. Any other
    error in either direction (a reset, a write that fails, the session ending) closes both
    ends at once: this connection only.

    One object per connection, allocated once, driven by completion handlers that carry only
    its address: each direction has exactly one operation in flight, and the forwarder deletes
    itself when both directions have ended (`start` hands it over to itself).

    An idle connection holds no data buffer: it waits for its socket to be readable
    (`async_wait`) and borrows a pooled block only to move what is there; it waits for its
    stream the same way, then takes the stream's bytes as views into the session's receive
    blocks (`receive`), without a copy, for as long as the socket takes to accept them.
    Back-pressure follows: the next read waits for the previous write, and received views
    count against the session's receive budget until the socket took them. */
class forwarder {
  public:
    /** Forwards between `socket` and `stream` until both directions ended, then closes both,
        logs "stream closed ROUTE: SUMMARY" (a stream event, hidden by --quiet) and frees
        itself. `route` is what the stream opened line said after "stream opened " (empty
        under --quiet). Runs on the io_context's one thread, as do `set`, `pool` and `log`,
        which must outlive the forwarder. */
    static void start(local_socket socket, smux::stream stream, std::string route,
                      forwarder_set& set, buffer_pool& pool, logger& log);

    forwarder(forwarder const&) = delete;
    forwarder& operator=(forwarder const&) = delete;

    /// Ends the connection now (both ends closed), with `why` as its failure; the pending
    /// operations complete with operation_aborted, and then the forwarder ends.
    void abort(std::string const& why) noexcept;

  private:
    friend class forwarder_set;

    forwarder(local_socket socket, smux::stream stream, std::string route, forwarder_set& set,
              buffer_pool& pool, logger& log);
    ~forwarder();

    struct socket_readable;
    struct stream_written;
    struct stream_readable;
    struct socket_written;

    // Socket to stream.
    void wait_for_socket();
    void on_socket_readable(asio::error_code const& ec);
    void read_socket();
    void on_stream_written(asio::error_code const& ec, std::size_t written);

    // Stream to socket.
    void wait_for_stream();
    void on_stream_readable(asio::error_code const& ec);
    void on_socket_written(asio::error_code const& ec, std::size_t written);

    void fail(char const* where, asio::error_code const& ec) noexcept;
    /// A direction ended; the second one to end closes both ends, logs the stream closed
    /// line and frees the forwarder.
    void direction_ended();

    local_socket socket_;
    smux::stream stream_;
    std::string route_;
    forwarder_set& set_;
    buffer_pool& pool_;
    logger& log_;
    forward_result result_;
    /// The block being written to the stream; none while the socket is waited for.
    std::optional<buffer_pool::lease> outgoing_;
    /// The stream's bytes being written to the socket (views of a fixed address, which a
    /// handler carried through Asio's operations would not have); none while idle.
    std::unique_ptr<smux::received_buffers> incoming_;
    int running_ = 2;  ///< directions not yet ended
    smux::core::list_hook<forwarder> hook_;
};

/// The live forwarders, so that a shutdown can end the ones no stream error would end (a
/// half-closed connection waiting on its socket), and their traffic. One thread only.
class forwarder_set {
  public:
    /// Bytes every forwarder of the set moved so far, as in `forward_result`.
    struct traffic {
        std::uint64_t sent = 0;      ///< local sockets -> streams
        std::uint64_t received = 0;  ///< streams -> local sockets
    };

    forwarder_set() = default;
    forwarder_set(forwarder_set const&) = delete;
    forwarder_set& operator=(forwarder_set const&) = delete;
    /// Frees the forwarders still live. Their handlers must never run again: the set is
    /// destroyed with its role, before the io_context, which then only destroys them.
    ~forwarder_set();

    void close_all(std::string const& why);
    [[nodiscard]] std::size_t size() const noexcept { return live_.size(); }
    [[nodiscard]] traffic const& total() const noexcept { return total_; }

  private:
    friend class forwarder;
    smux::core::intrusive_list<forwarder, &forwarder::hook_> live_;
    traffic total_;
};

}  // namespace smux_tunnel

#endif
