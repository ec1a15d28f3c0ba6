#ifndef SMUX_KCP_ASIO_STREAM_HPP
#define SMUX_KCP_ASIO_STREAM_HPP

#include <cstdint>
#include <memory>

#include <asio/ip/udp.hpp>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/asio/detail/conversation_io.hpp"
#include "smux/kcp/asio/options.hpp"

namespace smux::kcp {

namespace detail {
class listener_impl;
}

/// What a stream's conversation did so far (copied on its strand).
struct stream_stats {
    /// the conversation id
    std::uint32_t conv = 0;
    /// the KCP engine's counters and state
    engine_stats kcp;
    /// the datagram layers' counters (crypt, FEC)
    conversation_counters packets;
    std::uint64_t send_dropped = 0;  ///< datagrams the socket refused
};

/** One KCP conversation as a byte stream (kcp-go's UDPSession): the client side made by
    `connect`/`async_connect`, or a server side handed out by `listener::async_accept`.

    There is no handshake (KCP.md §5): connecting opens a UDP socket of its own, connects it
    to the remote endpoint (so only datagrams from there are read) and picks a random conv;
    the peer hears of it with the first datagram. Nothing ends a conversation on the wire:
    `close`, an idle timeout (`options::idle_timeout`) or a socket error end it locally.

    @par Concepts
    AsyncReadStream, AsyncWriteStream: `smux::basic_session<smux::kcp::stream>` runs over it.

    @par Completion tokens and cancellation
    Any token. Reads and writes support terminal, partial and total cancellation through the
    handler's cancellation slot: a cancelled read loses no byte, a cancelled write took none.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe, as an Asio socket: at most one read and
    one write in flight. Initiating functions may be called from any thread; all work runs on
    the conversation's strand (`get_executor()`), shared with the listener for accepted ones.
*/
class SMUX_KCP_ASIO_EXPORT stream {
  public:
    /// The conversation's strand, type-erased.
    using executor_type = net::any_io_executor;
    /// A stream is its own lowest layer (what a session closes when it ends).
    using lowest_layer_type = stream;
    /// A UDP endpoint.
    using endpoint_type = net::ip::udp::endpoint;

    /// A client stream, not yet connected, on `ex`.
    stream(net::any_io_executor ex, options opts);
    /// Moves the conversation; `other` becomes closed (`is_open()` false).
    stream(stream&& other) noexcept;
    /// Closes the conversation held now (see `close`), then takes over `other`.
    stream& operator=(stream&& other) noexcept;
    stream(stream const&) = delete;
    stream& operator=(stream const&) = delete;
    /// Closes the conversation (see `close`).
    ~stream();

    /// The conversation's strand once connected or accepted; else the executor given.
    [[nodiscard]] executor_type get_executor() const noexcept;
    /// This stream.
    lowest_layer_type& lowest_layer() noexcept { return *this; }

    /** Opens a UDP socket of its own connected to `remote`, with a random conv. Nothing is
        sent yet. `ec`: socket errors; `asio::error::already_connected` the second time. */
    void connect(endpoint_type const& remote, error_code& ec);

    /// `connect`, completing through the token with `void(error_code)` (never inline).
    template <net::completion_token_for<void(error_code)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_connect(endpoint_type const& remote,
                       Token&& token = net::default_completion_token_t<executor_type>());

    /** Reads what the engine has in order, at least one byte (waits while there is none).
        Completion signature `void(error_code, std::size_t)`; errors: `operation_aborted`
        (cancelled or closed), `timed_out` (idle timeout), `connection_reset` (the listener
        replaced the conversation), socket errors, `bad_descriptor` on a closed handle,
        `smux::error::operation_in_progress` for a second concurrent read. */
    template <class MutableBufferSequence,
              net::completion_token_for<void(error_code, std::size_t)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_read_some(MutableBufferSequence const& buffers,
                         Token&& token = net::default_completion_token_t<executor_type>());

    /** Hands bytes to the engine and flushes; completes with how many it took (waits while
        the send window is full). The bytes are copied: the buffers are free once the
        handler runs. Errors as for `async_read_some`. */
    template <class ConstBufferSequence, net::completion_token_for<void(error_code, std::size_t)>
                                             Token = net::default_completion_token_t<executor_type>>
    auto async_write_some(ConstBufferSequence const& buffers,
                          Token&& token = net::default_completion_token_t<executor_type>());

    /// False before connect, after close, or moved from.
    [[nodiscard]] bool is_open() const noexcept { return impl_ != nullptr; }
    /// The conversation id (0 before connect).
    [[nodiscard]] std::uint32_t conv() const noexcept { return impl_ ? impl_->conv() : 0; }

    /** Flushes what the engine holds (once, best effort, as kcp-go's Close), ends the
        conversation (pending operations: `operation_aborted`), closes its own socket or
        leaves the listener. Later operations fail with `bad_descriptor`. */
    void close() noexcept;
    /// `close()` with Asio's error-code signature (`ec` is always cleared); a session calls it
    /// on its lowest layer when it ends.
    void close(error_code& ec) noexcept {
        ec = {};
        close();
    }

    /// Counters; call on the conversation's strand (or with no other thread running it).
    [[nodiscard]] stream_stats stats() const;

  private:
    friend class detail::listener_impl;
    explicit stream(std::shared_ptr<detail::conversation_io> impl) noexcept;

    net::any_io_executor executor_;
    options opts_;
    std::shared_ptr<detail::conversation_io> impl_;
};

}  // namespace smux::kcp

#include "smux/kcp/asio/export.hpp"
#include "smux/kcp/asio/impl/stream.hpp"

#endif
