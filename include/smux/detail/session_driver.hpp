#ifndef SMUX_DETAIL_SESSION_DRIVER_HPP
#define SMUX_DETAIL_SESSION_DRIVER_HPP

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "smux/config.hpp"
#include "smux/core/session.hpp"
#include "smux/detail/asio_compat.hpp"
#include "smux/detail/counters_snapshot.hpp"
#include "smux/detail/op_slot.hpp"
#include "smux/detail/session_registry.hpp"
#include "smux/detail/stream_ops.hpp"
#include "smux/error.hpp"
#include "smux/export.hpp"
#include "smux/fwd.hpp"

namespace smux::detail {

enum class op_kind : std::uint8_t { read, write, accept, wait_closed };

/** The driver of one session: owns the engine (`core::session`), the streams' parked
    operations (`stream_ops`), the receive blocks and the gather array, and moves bytes
    between the engine and the transport. Everything but the functions marked "any thread"
    runs on the strand. The transport is reached through three virtual functions implemented
    by `transport_session<NextLayer>`.

    Its definition is split by concern: session_driver.cpp (lifecycle, the settle step,
    transport reads and writes, events, session operations), session_streams.cpp (stream
    reads, writes and closes), session_parked_ops.cpp (parking and cancellation) and
    session_deadlines.cpp (the timer and operation timeouts). */
class SMUX_EXPORT session_driver : public std::enable_shared_from_this<session_driver> {
  public:
    using strand_type = net::strand<net::any_io_executor>;
    using stream_op = op_slot<void(error_code, std::size_t)>;
    using accept_op = op_slot<void(error_code, stream)>;
    using wait_op = op_slot<void(error_code)>;

    session_driver(core::role r, config const& cfg, net::any_io_executor const& io_ex);
    session_driver(session_driver const&) = delete;
    session_driver& operator=(session_driver const&) = delete;
    virtual ~session_driver();

    /// Any thread: starts reading, writing and keep-alive (after construction).
    void start();

    /// Any thread: the executor every completion defaults to (the strand).
    [[nodiscard]] net::any_io_executor const& executor() const noexcept { return executor_; }
    [[nodiscard]] strand_type const& strand() const noexcept { return strand_; }
    /// Strand: where a parked operation keeps its work (see `op_slot::emplace`).
    [[nodiscard]] parked_work& parked() noexcept { return parked_; }
    [[nodiscard]] core::role role() const noexcept { return role_; }
    [[nodiscard]] config const& configuration() const noexcept { return cfg_; }

    /// Any thread: a unique number for an operation, used to match cancellation requests.
    std::uint64_t next_serial() noexcept { return serial_.fetch_add(1) + 1; }

    /// Any thread.
    [[nodiscard]] session_stats stats() const noexcept;
    [[nodiscard]] bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
    /// Any thread: the terminal error once `is_open()` is false.
    [[nodiscard]] std::optional<error_code> ended_with() const noexcept;

    // ---- session operations (strand)
    std::optional<stream> open_stream(error_code& ec);
    std::optional<stream> try_accept(error_code& ec);
    accept_op& park_accept(std::uint64_t serial);
    /// Empty once the session ended (its terminal error then).
    [[nodiscard]] std::optional<error_code> terminal_error() const;
    wait_op& park_wait_closed(std::uint64_t serial);
    void close(error_code ec);
    /// Graceful close: park the handler in `park_shutdown()`, then call `begin_shutdown()`:
    /// every stream gets its FIN, the frames are flushed, then the connection is closed.
    wait_op& park_shutdown();
    void begin_shutdown();

    // ---- stream operations (strand)
    struct read_outcome {
        bool would_block = false;
        error_code ec;
        std::size_t bytes = 0;
    };
    /// Reads into `buffers`; with none, only tells whether a read would complete now.
    read_outcome try_read(stream_ops& st, std::span<std::span<std::byte> const> buffers);
    /// Why a synchronous read of `st` cannot run here and now (off the strand, closed, or an
    /// asynchronous read pending), or no error.
    [[nodiscard]] error_code sync_read_refused(stream_ops const& st) const;
    /// Any thread: the stream's non-blocking read (fails off the strand).
    read_outcome read_now(stream_ops& st, std::span<std::span<std::byte> const> buffers);
    /// Any thread: the zero-copy read (fails off the strand): views of up to `max_bytes`
    /// into `out`, lent until `release_lent`.
    read_outcome take_now(stream_ops& st, std::size_t max_bytes, std::span<core::rx_chunk> out);
    /// Strand: lent views come back (budget and credit).
    void release_lent(core::stream_id id, std::span<core::rx_chunk> chunks);
    /// Any thread: bytes buffered for `st` (fails off the strand).
    std::size_t available(stream_ops const& st, error_code& ec) const;
    /// Any thread: the counters and state of `st` (fails off the strand).
    stream_stats stats_of(stream_ops const& st, error_code& ec) const;
    /// A write op was just parked in `st`: starts its timeout, if any, and registers its
    /// buffers with the engine (the op completes at once on an error).
    void begin_write(stream_ops& st);
    void shutdown_send(stream_ops& st);
    void close_stream(std::shared_ptr<stream_ops> const& st);
    void cancel_stream(stream_ops& st);
    /// Ends st's write early with `why` (at once, or at write_done once its frames left).
    void abort_write(stream_ops& st, error_code why);
    /// A read op was just parked in `st`: starts its timeout, if any.
    void read_parked(stream_ops& st);
    void cancel_op(op_kind kind, core::stream_id id, std::uint64_t serial,
                   net::cancellation_type type);

    /// io_context teardown: drops every parked handler without calling it.
    void destroy_parked_ops() noexcept;

  protected:
    // ---- transport, implemented by transport_session<NextLayer> (strand)
    virtual void transport_read(net::mutable_buffer buffer) = 0;
    virtual void transport_write(std::span<net::const_buffer const> buffers) = 0;
    virtual void transport_close() noexcept = 0;
    /// A transport with a closing handshake of its own (TLS close_notify) says so; the
    /// graceful end of a session then runs it (`transport_end_gracefully`, which calls
    /// `close_transport_now` when done) after the pending read was cancelled.
    [[nodiscard]] virtual bool transport_can_end_gracefully() const noexcept { return false; }
    virtual void transport_cancel_read() noexcept {}
    virtual void transport_end_gracefully() {}

    /// Closes the transport (once): the end of every way a session ends.
    void close_transport_now() noexcept;

    // Completions of the transport operations (strand).
    void on_read_done(error_code ec, std::size_t n);
    void on_write_done(error_code ec, std::size_t n);

    strand_type strand_;
    net::any_io_executor executor_;  ///< strand_, type-erased once
    /// Work for every parked operation; before everything that may hold one, so it goes last.
    parked_work parked_;

  private:
    stream make_stream(core::stream_id id);
    /** Ends every entry into the strand: delivers the engine's events, parses held bytes
        the engine wants now, flushes what it wants to send, finishes a flushed shutdown,
        starts a transport read if it wants one, re-arms the timer and publishes counters.
        Each step does nothing when there is nothing to do. */
    void settle();
    void deliver_events();
    /// Feeds bytes held back while the engine did not want to read; true if it parsed any.
    bool parse_held_bytes();
    void start_read();
    void flush();
    void start_write(stream_ops& st);
    void cancel_ops(stream_ops& st);
    void handle_closed(error_code ec);
    /// After the engine ended: closes the transport now, or first writes the engine's
    /// farewell frame, or first runs the transport's closing handshake (bounded in time).
    void end_transport(error_code ec);
    void arm_end_deadline();
    void complete_write(stream_ops& st, std::size_t bytes);
    void complete_read_if_ready(stream_ops& st);
    void retry_write(stream_ops& st);
    void fail_deferred_writes();
    void fail_writes_after_transport_error();
    void arm_timer();
    void on_timer(std::uint64_t generation);
    void expire_deadlines(core::time_point now);
    void finish_read(stream_ops& st, error_code ec, std::size_t bytes);
    void finish_write(stream_ops& st, error_code ec, std::size_t bytes);
    /// True if it ended the session (the engine then has events to deliver).
    bool finish_shutdown_if_flushed();
    void publish_stats() noexcept;
    void erase_stream_if_done(stream_ops& st);
    [[nodiscard]] std::vector<stream_ops*> live_streams() const;

    core::role role_;
    config cfg_;
    core::session engine_;
    live_stream_list live_;  ///< every stream with a handle, or still finishing a write
    /// Closed streams whose last write is still in the transport: kept until write_done.
    std::vector<std::shared_ptr<stream_ops>> lingering_;

    std::list<std::pair<std::uint64_t, accept_op>> accept_ops_;
    std::list<std::pair<std::uint64_t, wait_op>> wait_ops_;
    std::list<wait_op> shutdown_ops_;
    bool shutting_down_ = false;
    /// How far the transport is in ending (after the engine ended).
    enum class ending : std::uint8_t {
        open,
        after_farewell,       ///< writing the engine's last frame, then closing
        graceful_after_read,  ///< the read is being cancelled; then the closing handshake
        graceful,             ///< the transport's closing handshake runs
        closed,
    };
    ending ending_ = ending::open;

    // receive path
    core::rx_buffer_ptr rx_block_;
    core::rx_chunk rx_pending_;  ///< received bytes the engine did not take yet
    bool reading_ = false;

    // send path
    std::array<net::const_buffer, 64> gather_{};
    bool writing_ = false;
    error_code write_error_;  ///< the transport failed a write: no more sending
    core::time_point write_error_deadline_{};

    net::steady_timer timer_;
    core::time_point timer_expiry_{};
    std::uint64_t timer_generation_ = 0;
    bool timer_waiting_ = false;
    read_deadline_list read_deadlines_;
    write_deadline_list write_deadlines_;

    std::atomic<std::uint64_t> serial_{0};
    std::atomic<bool> open_{true};
    error_code ended_with_;  ///< written once, before open_ turns false

    counters_snapshot stats_;
    /// When the newest frame arrived (stats' since_last_frame_ns), and the frame count then.
    core::time_point last_frame_at_;
    std::uint64_t frames_seen_ = 0;

    bool settling_ = false;

    friend class session_registry;
    std::shared_ptr<session_registry> registry_;
    session_driver* registry_prev_ = nullptr;
    session_driver* registry_next_ = nullptr;
};

}  // namespace smux::detail

#endif
