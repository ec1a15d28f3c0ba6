#ifndef SMUX_SESSION_HPP
#define SMUX_SESSION_HPP

#include <memory>
#include <optional>
#include <utility>

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include "smux/config.hpp"
#include "smux/core/session.hpp"
#include "smux/detail/asio_compat.hpp"
#include "smux/detail/session_driver.hpp"
#include "smux/detail/transport.hpp"
#include "smux/error.hpp"
#include "smux/stream.hpp"

namespace smux {

using core::role;

/** A smux session over one connection (any Asio stream: TCP, Unix socket, TLS, ...).

    The session owns the connection and drives it from construction on: it reads, writes and
    sends keep-alives until it ends. There is no run call. It ends when the peer closes the
    connection or breaks the protocol, when the keep-alive timeout fires, or when `close`,
    `async_shutdown` or the destructor ends it; `async_wait_closed` reports why. Then every
    pending operation completes with that error, and buffered stream data stays readable.

    @code
    smux::tcp_session session(smux::role::client, std::move(socket));
    smux::stream s = co_await session.async_open_stream(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer("hello"), asio::use_awaitable);
    @endcode

    @par Completion tokens
    Every initiating function takes any completion token (callbacks, `use_awaitable`,
    `use_future`, `deferred`, ...). Without one, the default is the executor type's default
    completion token, as for Asio's own I/O objects: after
    `auto s = asio::use_awaitable_t<>::as_default_on(std::move(session));`,
    `co_await s.async_accept_stream()` works, and the streams it hands out
    (`stream_type`) share that default. Asio 1.22's plain `any_io_executor` carries no default
    token, so there a token must be given.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe for calls on the same object from several
    threads at once. Initiating functions may be called from any thread; the session and all
    its streams run on one strand (`get_executor()`), and completion handlers run on their
    associated executor, by default that strand, never inside the initiating function. To use
    several cores, run several sessions.
*/
template <class NextLayer, class Executor>
class basic_session {
  public:
    /// The connection type: any Asio stream (AsyncReadStream + AsyncWriteStream).
    using next_layer_type = NextLayer;
    /// The type of `get_executor()`; its default completion token is the operations' default.
    using executor_type = Executor;
    /// The streams it opens and accepts share its executor type.
    using stream_type = basic_stream<Executor>;

    /// The same session type with another executor type (Asio's idiom, used for instance by
    /// `asio::use_awaitable_t<>::as_default_on`).
    template <class Executor1>
    struct rebind_executor {
        /// The session type with `Executor1`.
        using other = basic_session<NextLayer, Executor1>;
    };

    /** Takes over a connected stream and starts the session.
        @throws config_error when `cfg` is invalid; `next_layer` is then left untouched (the
        connection stays with the caller). */
    basic_session(role r, NextLayer&& next_layer, config const& cfg = config{})
        : impl_(std::make_shared<detail::transport_session<NextLayer>>(r, validated(cfg),
                                                                       std::move(next_layer))) {
        impl_->start();
    }

    /** Constructs the next layer in place from `args` (for layers that cannot move).
        @throws config_error when `cfg` is invalid, before anything is taken from `args`. */
    template <class... Args>
    basic_session(role r, config const& cfg, std::in_place_t, Args&&... args)
        : impl_(std::make_shared<detail::transport_session<NextLayer>>(
              r, validated(cfg), std::forward<Args>(args)...)) {
        impl_->start();
    }

    /// Moves the session; the moved-from object is empty (its `terminal_error()` is
    /// `smux::error::session_closed`) and may only be destroyed or assigned to.
    basic_session(basic_session&&) noexcept = default;

    /// Takes over a session of another executor type (see `rebind_executor`).
    template <class OtherExecutor>
    basic_session(basic_session<NextLayer, OtherExecutor>&& other) noexcept  // NOLINT: rebind
        : impl_(std::move(other.impl_)) {}

    /// Closes the session held now (see `close`), then takes over `other`.
    basic_session& operator=(basic_session&& other) noexcept {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }

    basic_session(basic_session const&) = delete;
    basic_session& operator=(basic_session const&) = delete;

    /// Closes the session (see `close`). Streams that outlive it fail their operations.
    ~basic_session() { close(); }

    /// The session's strand.
    [[nodiscard]] executor_type get_executor() const noexcept {
        return executor_type(impl_->executor());
    }

    /// The connection. Touch it only on the session's strand, and never read or write it.
    [[nodiscard]] next_layer_type& next_layer() noexcept { return impl_->next_layer(); }

    /// Client or server, as given at construction (decides the parity of stream ids).
    [[nodiscard]] role session_role() const noexcept { return impl_->role(); }
    /// The validated configuration the session runs with.
    [[nodiscard]] config const& configuration() const noexcept { return impl_->configuration(); }

    /// False once the session ended.
    [[nodiscard]] bool is_open() const noexcept { return impl_ && impl_->is_open(); }

    /** Why the session ended, without waiting: empty while it is open, then its terminal
        error (as `async_wait_closed` reports it). Any thread; an empty (moved-from) session
        reports `smux::error::session_closed`. */
    [[nodiscard]] std::optional<error_code> terminal_error() const noexcept {
        return impl_ ? impl_->ended_with() : std::optional(make_error_code(error::session_closed));
    }

    /// Counters, readable from any thread.
    [[nodiscard]] session_stats stats() const noexcept { return impl_->stats(); }

    /** Opens a stream: it exists at once (data the peer sends on it are kept) and its SYN
        is queued. Completion signature: `void(error_code, stream_type)`. Fails with
        `smux::error::go_away` once this session's stream ids are exhausted, or with the
        session's terminal error. */
    template <net::completion_token_for<void(error_code, basic_stream<Executor>)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_open_stream(Token&& token = net::default_completion_token_t<executor_type>());

    /** Waits for a stream the peer opened. Completion signature:
        `void(error_code, stream_type)`. Streams that arrived before the session ended are
        still handed out, then the terminal error.

        @par Per-Operation Cancellation
        terminal, partial, total: completes with `asio::error::operation_aborted`; no stream is
        lost (it waits for the next accept). */
    template <net::completion_token_for<void(error_code, basic_stream<Executor>)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_accept_stream(Token&& token = net::default_completion_token_t<executor_type>());

    /** Waits until the session ends. Completion signature: `void(error_code)` with the
        terminal error: `smux::error::session_closed` after a local close,
        `smux::error::connection_closed` when the peer closed the connection,
        `smux::error::keepalive_timeout`, a protocol violation (`ec ==
        smux::condition::protocol_violation`), or the connection's own error.

        @par Per-Operation Cancellation
        terminal, partial, total: completes with `asio::error::operation_aborted`. */
    template <net::completion_token_for<void(error_code)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_wait_closed(Token&& token = net::default_completion_token_t<executor_type>());

    /** Graceful end: every stream gets its FIN after its queued data, everything is flushed,
        then the connection is closed. Completion signature: `void(error_code)`: no error, or
        the error that ended the session first. */
    template <net::completion_token_for<void(error_code)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_shutdown(Token&& token = net::default_completion_token_t<executor_type>());

    /// Abortive end: the connection is closed now; everything pending fails with
    /// `smux::error::session_closed`. Safe to call more than once.
    void close() noexcept;

  private:
    template <class, class>
    friend class basic_session;

    /// Validates before any argument is moved from (arguments are evaluated before the call
    /// that moves them).
    static config const& validated(config const& cfg) {
        validate_or_throw(cfg);
        return cfg;
    }

    std::shared_ptr<detail::transport_session<NextLayer>> impl_;
};

/// A session over TCP.
using tcp_session = basic_session<net::ip::tcp::socket>;

/// A session over a Unix domain socket.
using local_session = basic_session<net::local::stream_protocol::socket>;

}  // namespace smux

#include "smux/impl/session.hpp"

#endif
