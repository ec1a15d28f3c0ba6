#ifndef SMUX_TOOLS_TUNNEL_FORWARDER_HPP
#define SMUX_TOOLS_TUNNEL_FORWARDER_HPP

// One forwarded connection: the bytes of a local socket and of an smux stream, both ways.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <smux/stream.hpp>
#include <string>
#include <unordered_set>

#include "address.hpp"
#include "buffer_pool.hpp"

namespace smux_tunnel {

class forwarder;

/// The live forwarders, so that a shutdown can end the ones no stream error would end (a
/// half-closed connection waiting on its socket). One thread only.
class forwarder_set {
  public:
    /// Bytes every forwarder of the set moved so far, as in `forward_result`.
    struct traffic {
        std::uint64_t sent = 0;      ///< local sockets -> streams
        std::uint64_t received = 0;  ///< streams -> local sockets
    };

    void close_all(std::string const& why);
    [[nodiscard]] std::size_t size() const noexcept { return live_.size(); }
    [[nodiscard]] traffic const& total() const noexcept { return total_; }

  private:
    friend class forwarder;
    std::unordered_set<forwarder*> live_;
    traffic total_;
};

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

    No copy buffer is held while the connection is idle: the socket is waited for readable
    and a pooled block is borrowed only to move what is there; the stream's bytes go to the
    socket as views into the session's receive blocks (`async_receive`), without a copy.
    Back-pressure follows: the next read waits for the previous write, and received views
    count against the session's receive budget until the socket took them. */
class forwarder {
  public:
    forwarder(local_socket socket, smux::stream stream, buffer_pool& pool, forwarder_set& set);
    forwarder(forwarder const&) = delete;
    forwarder& operator=(forwarder const&) = delete;
    ~forwarder();

    /// Runs both directions to their end; the socket and the stream are closed after.
    [[nodiscard]] asio::awaitable<forward_result> run();

    /// Ends the connection now (both ends closed), with `why` as its failure.
    void abort(std::string const& why) noexcept;

  private:
    asio::awaitable<void> socket_to_stream();
    asio::awaitable<void> stream_to_socket();
    void fail(char const* where, asio::error_code const& ec) noexcept;

    local_socket socket_;
    smux::stream stream_;
    buffer_pool& pool_;
    forwarder_set& set_;
    forward_result result_;
};

}  // namespace smux_tunnel

#endif
