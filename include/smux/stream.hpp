#ifndef SMUX_STREAM_HPP
#define SMUX_STREAM_HPP

#include <cstdint>
#include <memory>

#include "smux/core/frame.hpp"
#include "smux/detail/asio_compat.hpp"
#include "smux/detail/session_driver.hpp"
#include "smux/detail/stream_ops.hpp"
#include "smux/error.hpp"
#include "smux/received_buffers.hpp"

namespace smux {

/** One logical byte stream of a session.

    A stream is a movable handle. Destroying it, or calling `close`, sends FIN (unless already
    sent), drops unread data and completes its pending operations with
    `asio::error::operation_aborted`.

    Reading after the peer's FIN returns the remaining buffered bytes, then `asio::error::eof`.
    When the session ends, reads still return the buffered bytes first, then the session's
    terminal error (for instance `smux::error::keepalive_timeout`); writes fail with it.

    @par Concepts
    AsyncReadStream, AsyncWriteStream: `asio::async_read`, `asio::async_write`,
    `asio::ssl::stream<smux::stream>` and Beast-style algorithms work on it.

    @par Completion tokens
    Any token; without one, the executor type's default token (see `basic_session`:
    `asio::use_awaitable_t<>::as_default_on_t<smux::stream>` reads and writes without a token).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe, like an Asio socket: at most one read and
    one write in flight per stream, and no concurrent calls on one handle. Initiating functions
    may be called from any thread: they run on the session's strand (`get_executor()`).
    Completion handlers run on their associated executor, by default that strand; they are never
    invoked from within the initiating function.
*/
template <class Executor>
class basic_stream {
  public:
    /// The type of `get_executor()`; its default completion token is the operations' default.
    using executor_type = Executor;
    /// A stream is its own lowest layer (as `asio::ssl::stream` expects of its next layer).
    using lowest_layer_type = basic_stream;

    /// The same stream type with another executor type (Asio's idiom).
    template <class Executor1>
    struct rebind_executor {
        /// The stream type with `Executor1`.
        using other = basic_stream<Executor1>;
    };

    /// An empty handle: every operation fails with `smux::error::stream_closed`.
    basic_stream() noexcept = default;

    /// Moves the handle; `other` becomes empty (`is_open()` false).
    basic_stream(basic_stream&& other) noexcept = default;

    /// Converts from a handle of the same stream with another executor type.
    template <class OtherExecutor>
    basic_stream(basic_stream<OtherExecutor>&& other) noexcept  // NOLINT: Asio's rebind idiom
        : session_(std::move(other.session_)), ops_(std::move(other.ops_)) {}

    /// Closes the stream held now (see `close`), then takes over `other`.
    basic_stream& operator=(basic_stream&& other) noexcept {
        if (this != &other) {
            close();
            session_ = std::move(other.session_);
            ops_ = std::move(other.ops_);
        }
        return *this;
    }

    basic_stream(basic_stream const&) = delete;
    basic_stream& operator=(basic_stream const&) = delete;

    /// Closes the stream (see `close`).
    ~basic_stream() { close(); }

    /// The session's strand (also the default executor of completion handlers).
    [[nodiscard]] executor_type get_executor() const noexcept {
        return session_ ? executor_type(session_->executor()) : executor_type();
    }

    /// This stream.
    lowest_layer_type& lowest_layer() noexcept { return *this; }
    /// This stream.
    lowest_layer_type const& lowest_layer() const noexcept { return *this; }

    /// The stream id on the wire (odd: opened by the client side, even: by the server side).
    [[nodiscard]] core::stream_id id() const noexcept { return ops_ ? ops_->id : 0; }

    /// False once closed, moved from, or default-constructed.
    [[nodiscard]] bool is_open() const noexcept { return ops_ != nullptr; }

    /** Reads some bytes into `buffers`.

        Completion signature: `void(error_code, std::size_t)`. Completes with at least one
        byte, with `asio::error::eof` after the peer's FIN once every byte before it was read,
        or with an error. Buffers of total size zero complete at once with no error. The bytes
        handed out return receive credit to the peer (protocol version 2: window updates as
        the Go reference sends them).

        @par Per-Operation Cancellation
        terminal, partial, total: the read ends with `asio::error::operation_aborted` and no
        byte is lost (unread bytes stay buffered). */
    template <class MutableBufferSequence,
              net::completion_token_for<void(error_code, std::size_t)> ReadToken =
                  net::default_completion_token_t<executor_type>>
    auto async_read_some(MutableBufferSequence const& buffers,
                         ReadToken&& token = net::default_completion_token_t<executor_type>());

    /** Writes some bytes from `buffers`, without copying them: the memory must stay valid
        until the handler runs (as for any Asio write).

        Completion signature: `void(error_code, std::size_t)`. Completes when the accepted bytes
        were handed to the connection; in protocol version 2 at most the peer's open window is
        accepted (it waits while the window is closed). A short count is normal;
        `asio::async_write` loops.

        @par Per-Operation Cancellation
        While waiting for the window: terminal, partial, total (nothing was sent). Once sending:
        terminal and partial; frames already built still go out and the write completes with
        `asio::error::operation_aborted` and the count that was sent. */
    template <class ConstBufferSequence,
              net::completion_token_for<void(error_code, std::size_t)> WriteToken =
                  net::default_completion_token_t<executor_type>>
    auto async_write_some(ConstBufferSequence const& buffers,
                          WriteToken&& token = net::default_completion_token_t<executor_type>());

    /// The kinds of wait of `async_wait`, as for an Asio socket.
    using wait_type = net::socket_base::wait_type;
    /// Wait until a read would complete without waiting (the only kind supported).
    static constexpr wait_type wait_read = net::socket_base::wait_read;
    /// Not supported: `async_wait` completes with `asio::error::operation_not_supported`.
    static constexpr wait_type wait_write = net::socket_base::wait_write;
    /// Not supported: `async_wait` completes with `asio::error::operation_not_supported`.
    static constexpr wait_type wait_error = net::socket_base::wait_error;

    /** Waits until a read would complete without waiting: bytes are buffered, the peer's FIN
        arrived, or the stream or session failed. It takes nothing, so an idle stream needs no
        buffer: wait, then take what is there with the non-blocking `read_some` into a buffer
        borrowed for only as long as it is needed (as with `basic_socket::async_wait`).

        Only `wait_read` is supported: `wait_write` and `wait_error` complete with
        `asio::error::operation_not_supported`.

        Completion signature: `void(error_code)`. No error: a read now completes at once (with
        bytes, `asio::error::eof` or the session's terminal error). Errors of the wait itself:
        `asio::error::operation_aborted` (cancelled), `smux::error::stream_closed`,
        `smux::error::read_timeout` (config stream_read_timeout applies as to a read) and
        `smux::error::operation_in_progress`: a wait counts as a read, one at a time per stream.

        @par Per-Operation Cancellation
        terminal, partial, total: the wait ends with `asio::error::operation_aborted`. */
    template <net::completion_token_for<void(error_code)> WaitToken =
                  net::default_completion_token_t<executor_type>>
    auto async_wait(wait_type w,
                    WaitToken&& token = net::default_completion_token_t<executor_type>());

    /** Non-blocking read: copies what is buffered now into `buffers` and returns the count,
        never waiting (the receive credit goes back to the peer as for `async_read_some`).

        `ec`: `asio::error::would_block` when nothing is buffered, `asio::error::eof` after the
        peer's FIN once every byte before it was read, the session's terminal error once it
        ended and nothing is buffered, `smux::error::stream_closed`,
        `smux::error::operation_in_progress` while an `async_read_some` or `async_wait` is
        pending, and `smux::error::not_on_strand` when called outside the session's strand.

        @par Thread Safety
        Call it on the stream's executor (the session's strand): from a completion handler
        of this session that runs on its default executor, or from a coroutine spawned on
        `get_executor()`. */
    template <class MutableBufferSequence>
    std::size_t read_some(MutableBufferSequence const& buffers, error_code& ec);

    /** Zero-copy non-blocking read: lends up to `max_bytes` of what is buffered now as views
        into the session's receive blocks (`received_buffers`: at most
        `received_buffers::max_views` pieces), never waiting. The bytes stay counted against
        the session's receive budget, and the peer gets no v2 credit for them, until the
        handle is released. Errors and thread safety as for `read_some`. */
    [[nodiscard]] received_buffers receive(std::size_t max_bytes, error_code& ec);

    /** Waits for received bytes and lends up to `max_bytes` of them without a copy: `async_wait`
        then `receive`, so an idle stream holds no buffer either.

        Completion signature: `void(error_code, received_buffers)`. Errors as for
        `async_read_some` (`asio::error::eof` after the peer's FIN once every byte was
        received, the session's terminal error, `operation_aborted`, `read_timeout`,
        `operation_in_progress`, `stream_closed`). `max_bytes == 0` completes at once with
        nothing.

        @par Per-Operation Cancellation
        As `async_wait`: terminal, partial, total. */
    template <net::completion_token_for<void(error_code, received_buffers)> ReceiveToken =
                  net::default_completion_token_t<executor_type>>
    auto async_receive(std::size_t max_bytes,
                       ReceiveToken&& token = net::default_completion_token_t<executor_type>());

    /** Bytes buffered and not yet read; `read_some` returns at most this many. Errors and
        thread safety as for `read_some` (no error with nothing buffered: 0). */
    [[nodiscard]] std::size_t available(error_code& ec) const;

    /** This stream's counters, windows and state (`smux::stream_stats`), read from the
        engine without copying anything else. `ec`: `smux::error::stream_closed` once the
        stream was closed, `smux::error::not_on_strand` when called outside the session's
        strand (thread safety as for `read_some`). After the session ended the stream reports
        `stream_state::closed` with its final counters until it is closed. */
    [[nodiscard]] stream_stats stats(error_code& ec) const;

    /** Half-close: sends FIN after the bytes already written; the peer reads them, then end
        of file. Reading goes on. Later writes fail with `smux::error::broken_pipe`. */
    void shutdown_send();

    /** Full close: FIN (unless already sent), unread data dropped, pending operations
        completed with `asio::error::operation_aborted`. Later operations on the handle fail
        with `smux::error::stream_closed` (still completing on the session's executor). */
    void close() noexcept;
    /// `close()` with Asio's error-code signature (`ec` is always cleared), for generic code such
    /// as `asio::ssl::stream`'s owners.
    void close(error_code& ec) noexcept {
        ec = {};
        close();
    }

    /// Completes the pending operations with `asio::error::operation_aborted` (see the
    /// cancellation notes of each); the stream stays open.
    void cancel();

  private:
    template <class>
    friend class basic_stream;
    friend class detail::session_driver;

    basic_stream(std::shared_ptr<detail::session_driver> s,
                 std::shared_ptr<detail::stream_ops> st) noexcept
        : session_(std::move(s)), ops_(std::move(st)) {}

    std::shared_ptr<detail::session_driver> session_;
    std::shared_ptr<detail::stream_ops> ops_;
};

}  // namespace smux

#include "smux/impl/stream.hpp"

#endif
