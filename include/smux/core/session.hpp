#ifndef SMUX_CORE_SESSION_HPP
#define SMUX_CORE_SESSION_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "smux/config.hpp"
#include "smux/core/export.hpp"
#include "smux/core/frame.hpp"
#include "smux/core/rx_buffer.hpp"
#include "smux/counters.hpp"
#include "smux/error.hpp"

/** The sans-I/O smux engine: bytes and time in, bytes and events out.

    Nothing in this namespace touches a socket, a thread or a clock. The driver (the Asio front
    end, a test, a fuzzer) feeds received bytes with `receive`, asks for bytes to send with
    `prepare_send` / `commit_send`, passes the time with `on_timer`, and drains `poll_event`
    after every call. Application calls (open, accept, read, write, close) change state and
    may queue frames and events; nothing calls back into the driver.
*/
namespace smux::core {

/// The clock whose time the driver passes in (the engine never reads it).
using clock = std::chrono::steady_clock;
/// A point in time of `clock`.
using time_point = clock::time_point;

/// The role decides stream-id parity: clients open odd ids (3, 5, ...), servers even (2, 4, ...).
enum class role : std::uint8_t { client, server };

/// The initial per-stream send window of protocol version 2 (a constant of the protocol).
inline constexpr std::uint32_t initial_peer_window = 262'144;

/// Something the driver has to act on. Events of one stream come in the order they happened.
struct event {
    /// What happened.
    enum class kind : std::uint8_t {
        incoming,    ///< a peer-opened stream waits in the accept queue (once per accept() miss)
        readable,    ///< data, FIN or the session's end can be read (once per read() miss)
        writable,    ///< the v2 send window opened (once per write() that accepted nothing)
        write_done,  ///< a write's accepted bytes all went to the transport, or were dropped
        closed,      ///< the session ended with `ec`; no events follow
    };
    /// what happened
    kind what;
    /// the stream concerned (0 for `closed`)
    stream_id id = 0;
    void* context = nullptr;  ///< the stream's context (see `session::set_context`)
    std::size_t bytes = 0;    ///< write_done: bytes handed to the transport
    error_code ec;            ///< closed: the terminal error
};

/// Outcome of `session::read`.
struct read_result {
    /// How the read went.
    enum class status : std::uint8_t {
        data,           ///< `bytes` were copied out (0 only when the buffers were empty)
        would_block,    ///< nothing buffered yet; a `readable` event will follow
        end_of_stream,  ///< the peer's FIN arrived and every byte before it was read
        failed,         ///< `ec` tells why (closed stream, or the session's terminal error)
    };
    /// bytes copied out (`data`), or buffered (`poll_read`)
    std::size_t bytes = 0;
    /// how the read went
    status state = status::would_block;
    /// `failed`: why
    error_code ec;
};

/// Outcome of `session::take`: a read whose bytes stay in the receive blocks.
struct take_result {
    read_result read;        ///< as for `read`: `data` with the bytes taken, or why none were
    std::size_t chunks = 0;  ///< views filled at the front of `out`
};

/// Outcome of `session::write`.
struct write_result {
    std::size_t accepted = 0;  ///< bytes registered; 0 with no `ec`: wait for `writable`
    /// why the write was refused (a closed stream, a finished write side, the session's end)
    error_code ec;
};

/// The engine's counters: the one counters type of the library (smux/counters.hpp).
using smux::session_counters;
using smux::stream_stats;

class session_state;
struct session_access;

/** One smux session in one role.

    @par Thread Safety
    None: one session belongs to one thread (or strand) at a time.
*/
class SMUX_CORE_EXPORT session {
  public:
    /// Tuning of the engine that is not part of the protocol configuration.
    struct options {
        /// Payloads shorter than this are copied into small per-stream blocks instead of
        /// pinning the large receive block they arrived in.
        std::size_t copy_threshold = 4'096;
        /// Upper bound of one `prepare_send` batch, in bytes.
        std::size_t max_batch_bytes = 1U << 20U;
        /// Upper bound of one `prepare_send` batch, in segments (Asio gathers at most 64).
        std::size_t max_batch_segments = 64;
        /// Memory that buffered payload may pin before reading pauses; 0: twice
        /// max_receive_buffer, at least 256 KiB.
        std::size_t max_pinned_bytes = 0;
        /// FIN replies to refused SYNs that may wait before reading pauses.
        std::size_t max_pending_refusals = 1'024;
    };

    /// @throws config_error when `cfg` is invalid.
    session(role r, config const& cfg, time_point now);
    /// As above, with engine tuning `opts`. @throws config_error when `cfg` is invalid.
    session(role r, config const& cfg, time_point now, options const& opts);
    ~session();
    /// Moves the engine; the moved-from session may only be destroyed or assigned to.
    session(session&&) noexcept;
    /// Moves the engine; the moved-from session may only be destroyed or assigned to.
    session& operator=(session&&) noexcept;

    // ---- transport -> core

    /** Consumes received connection bytes and returns how many it took. It stops at a frame
        boundary as soon as `want_read()` turns false (the receive budget is spent or the
        accept queue is full); the driver keeps the rest and offers it again later.
        Stream payloads are kept as views into `bytes.buffer` (no copy) when large enough. */
    std::size_t receive(rx_chunk const& bytes);

    /// For a driver that reuses its own buffer: copies `bytes` into a fresh receive block,
    /// then as above (one copy more than handing over an `rx_chunk`).
    std::size_t receive(std::span<std::byte const> bytes);

    /// True while the session wants more connection bytes (Go's "bucket > 0" rule, plus the
    /// accept backlog and memory limits).
    [[nodiscard]] bool want_read() const noexcept;

    // ---- core -> transport

    /** The next bytes to write, as a gather list that stays valid until `commit_send`. After
        a partial commit the rest is returned again first. Empty when nothing is due. */
    [[nodiscard]] std::span<std::span<std::byte const> const> prepare_send();

    /// `n` bytes of the last `prepare_send` reached the transport.
    void commit_send(std::size_t n);

    /// True while `prepare_send` has bytes to hand out.
    [[nodiscard]] bool want_write() const noexcept;

    // ---- application

    /// Opens a stream: registers it, then queues its SYN. Fails with `error::go_away` once
    /// ids are exhausted, or with the terminal error of a dead session.
    [[nodiscard]] std::optional<stream_id> open_stream(error_code& ec);

    /// Takes the oldest stream from the accept queue. Empty with no `ec`: an `incoming`
    /// event follows when one arrives. After the session ended, queued streams are still
    /// handed out, then the terminal error.
    [[nodiscard]] std::optional<stream_id> accept_stream(error_code& ec);

    /** Copies buffered payload into `out` and returns the receive credit (v2: queues an UPD
        by Go's rule). After the peer's FIN, buffered bytes come first, then end_of_stream;
        after the session's end, buffered bytes come first, then the terminal error. */
    read_result read(stream_id id, std::span<std::span<std::byte> const> out);

    /** Zero-copy read: moves up to `max_bytes` of `id`'s buffered payload into `out` as
        views of the receive blocks (at most `out.size()` of them), oldest first. The bytes
        leave the stream, but they stay counted in the session's receive budget and pinned
        memory, and (v2) the peer gets no credit for them, until `release` hands them back:
        what a peer can make this side hold stays bounded while the caller keeps them.
        Outcomes as for `read`. */
    take_result take(stream_id id, std::size_t max_bytes, std::span<rx_chunk> out);

    /** Gives back views that `take` handed out for `id` (all or some of them, in any order):
        the budget and pins are released and the stream, if still open, gets its receive
        credit (v2: a window update by Go's rule). The views are reset. */
    void release(stream_id id, std::span<rx_chunk> chunks);

    /** What a read of `id` would return now, without taking anything: `data` with `bytes`
        buffered (not 0), `end_of_stream`, `failed`, or `would_block` (a `readable` event then
        follows, as after a read that found nothing). */
    read_result poll_read(stream_id id);

    /// Bytes buffered for `id` and not yet read.
    [[nodiscard]] std::size_t readable_bytes(stream_id id) const noexcept;

    /// The counters and state of `id`; empty once the application closed it (or for an id
    /// this session never had).
    [[nodiscard]] std::optional<smux::stream_stats> stream_stats(stream_id id) const noexcept;

    /** Registers caller-owned bytes to send on `id`, without copying. `src` (the span array
        and the bytes) must stay valid until the `write_done` event of this stream. Only one
        write per stream at a time. In v2 at most the open window is accepted. */
    write_result write(stream_id id, std::span<std::span<std::byte const> const> src);

    /** Ends the stream's write early: bytes not yet in a frame are dropped and the window
        credit they took is given back; `write_done` follows (at once, or when the frames
        already built reach the transport) with the count actually sent. */
    void abort_write(stream_id id);

    /// Half-close: FIN after the bytes already accepted; reads go on.
    error_code close_write(stream_id id);

    /** Full close: FIN (unless sent), unread data dropped, the id forgotten once its FIN
        left. A write still in progress ends with `write_done` for the bytes already framed. */
    void close_stream(stream_id id);

    /// Attaches a driver pointer to a stream; it comes back in the stream's events.
    void set_context(stream_id id, void* context) noexcept;
    /// The driver pointer of a stream that is not closed, or null.
    [[nodiscard]] void* context(stream_id id) const noexcept;

    /// Graceful end: every stream gets its FIN after its queued data; nothing else changes.
    void shutdown_streams();

    /** Ends the session with `ec` (a protocol error found here, the connection's error, or
        `error::session_closed`). Buffered data stays readable; every later call fails with
        `ec`. A driver maps the connection's end of file to `error::connection_closed`.

        After the session ended, `want_write` is true only for a farewell frame: when the
        peer's first frame had another version, one NOP of this session's version, so that
        the peer learns why the connection closes. A driver writes it, then closes. */
    void close(error_code ec);

    // ---- time

    /// Passes the time: sends keep-alives, ends the session on the keep-alive timeout and fails
    /// reads and writes that waited past their configured timeouts.
    void on_timer(time_point now);
    /// When `on_timer` is due next; empty when nothing is timed.
    [[nodiscard]] std::optional<time_point> next_timer() const noexcept;

    // ---- events and state

    /// The next event to act on, or empty; drain it after every call into the engine.
    [[nodiscard]] std::optional<event> poll_event();

    /// False once the session ended (`close`, a protocol error, the keep-alive timeout).
    [[nodiscard]] bool is_alive() const noexcept;
    /// Why the session ended; empty while it is alive.
    [[nodiscard]] error_code terminal_error() const noexcept;
    /// The session's counters (`since_last_frame_ns` is left 0: the engine has no clock).
    [[nodiscard]] session_counters counters() const noexcept;
    /// The configuration the session runs with.
    [[nodiscard]] config const& configuration() const noexcept;
    /// Client or server.
    [[nodiscard]] role session_role() const noexcept;

    /// The id the next `open_stream` will use (0 once ids are exhausted).
    [[nodiscard]] stream_id next_stream_id() const noexcept;

  private:
    friend struct session_access;  ///< tests reach the engine's internals through it
    std::unique_ptr<session_state> s_;
};

}  // namespace smux::core

#endif
