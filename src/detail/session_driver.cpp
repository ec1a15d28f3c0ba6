// The driver between the sans-I/O engine and an Asio transport. All of it runs on the
// session's strand: transport completions feed the engine, the engine's events complete the
// parked stream operations. Every entry into the strand (a transport completion, the timer,
// an initiating function, a cancellation, a close) changes the engine's state and then ends
// in `settle`, which does whatever the engine now wants in one fixed order; no entry starts
// the reader, the writer or the timer by hand.

#include "smux/detail/session_driver.hpp"

#include <algorithm>

#include "smux/stream.hpp"

namespace smux::detail {

namespace {

/// One transport read asks for this much; small remnants of a block are not read into.
constexpr std::size_t rx_block_size = std::size_t{64} * 1024;
constexpr std::size_t rx_min_read = std::size_t{4} * 1024;

/// After a failed write, reading goes on this long at most (a peer that closed has its last
/// frames in our receive queue; they take microseconds to read).
constexpr auto write_error_grace = std::chrono::seconds(1);

error_code map_transport_error(error_code ec) {
    if (ec == net::error::eof) {
        return make_error_code(error::connection_closed);
    }
    return ec;
}

}  // namespace

// ---- lifecycle

session_driver::session_driver(core::role r, config const& cfg, net::any_io_executor const& io_ex)
    : strand_(net::make_strand(io_ex)),
      executor_(strand_),
      parked_(executor_),
      role_(r),
      cfg_(cfg),
      engine_(r, cfg, core::clock::now()),
      timer_(strand_),
      last_frame_at_(core::clock::now()),
      registry_(net::use_service<session_service>(net::query(io_ex, net::execution::context))
                    .registry()) {
    registry_->add(*this);
    publish_stats();
}

session_driver::~session_driver() {
    registry_->remove(*this);
}

void session_driver::start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->settle(); });
}

// ---- the settle step

void session_driver::settle() {
    // Work done here may re-enter (an event handler reads a stream, which settles): the
    // outermost call loops until nothing is left, so inner calls return at once.
    if (settling_) {
        return;
    }
    settling_ = true;
    struct reset_flag {
        bool& flag;
        ~reset_flag() { flag = false; }
    } const reset{settling_};
    bool more = true;
    while (more) {
        deliver_events();
        more = parse_held_bytes();  // their frames raise events and may call for replies
        flush();
        more = finish_shutdown_if_flushed() || more;  // ending the session raises events
    }
    start_read();
    if (engine_.is_alive()) {
        arm_timer();
    }
    publish_stats();
}

std::vector<stream_ops*> session_driver::live_streams() const {
    std::vector<stream_ops*> out;
    out.reserve(live_.size());
    for (stream_ops* st = live_.front(); st != nullptr; st = live_stream_list::next(*st)) {
        out.push_back(st);
    }
    return out;
}

session_stats session_driver::stats() const noexcept {
    session_stats c = stats_.load();
    // Published as the arrival time; turned into an age here, where the reader's clock is.
    auto const now = core::clock::now().time_since_epoch();
    auto const at = std::chrono::nanoseconds(c.since_last_frame_ns);
    c.since_last_frame_ns = static_cast<std::uint64_t>(
        std::max(std::chrono::nanoseconds(0),
                 std::chrono::duration_cast<std::chrono::nanoseconds>(now) - at)
            .count());
    return c;
}

void session_driver::publish_stats() noexcept {
    session_counters c = engine_.counters();
    if (c.frames_received != frames_seen_) {
        frames_seen_ = c.frames_received;
        last_frame_at_ = core::clock::now();  // when this step saw them: close enough
    }
    c.since_last_frame_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_frame_at_.time_since_epoch())
            .count());
    stats_.publish(c);
}

// ---- receive path

bool session_driver::parse_held_bytes() {
    if (rx_pending_.length == 0 || !engine_.want_read()) {
        return false;
    }
    std::size_t const took = engine_.receive(rx_pending_);
    rx_pending_.offset += static_cast<std::uint32_t>(took);
    rx_pending_.length -= static_cast<std::uint32_t>(took);
    if (rx_pending_.length == 0) {
        rx_pending_.buffer.reset();
    }
    return true;
}

void session_driver::start_read() {
    if (reading_ || rx_pending_.length > 0 || !engine_.is_alive() || !engine_.want_read()) {
        return;
    }
    if (!rx_block_ || rx_block_->unused().size() < rx_min_read) {
        rx_block_ = core::rx_buffer_ptr::allocate(rx_block_size);
    }
    reading_ = true;
    auto room = rx_block_->unused();
    transport_read(net::buffer(room.data(), room.size()));
}

void session_driver::on_read_done(error_code ec, std::size_t n) {
    reading_ = false;
    if (!engine_.is_alive()) {
        if (ending_ == ending::graceful_after_read) {
            ending_ = ending::graceful;
            transport_end_gracefully();
        }
        settle();  // the session ended while the read was pending
        return;
    }
    if (n > 0) {
        core::rx_chunk chunk{rx_block_, static_cast<std::uint32_t>(rx_block_->size()),
                             static_cast<std::uint32_t>(n)};
        rx_block_->set_size(rx_block_->size() + n);
        std::size_t const took = engine_.receive(chunk);
        if (took < n) {
            // Held until the engine wants to read again (settle parses them then).
            chunk.offset += static_cast<std::uint32_t>(took);
            chunk.length -= static_cast<std::uint32_t>(took);
            rx_pending_ = std::move(chunk);
        }
    }
    if (ec && engine_.is_alive()) {
        engine_.close(map_transport_error(ec));
    }
    settle();
}

// ---- send path

void session_driver::flush() {
    if (writing_ || write_error_ || ending_ == ending::closed || !engine_.want_write()) {
        return;
    }
    auto segments = engine_.prepare_send();
    if (segments.empty()) {
        return;
    }
    std::size_t const count = std::min(segments.size(), gather_.size());
    for (std::size_t i = 0; i < count; ++i) {
        gather_[i] = net::buffer(segments[i].data(), segments[i].size());
    }
    writing_ = true;
    transport_write(std::span<net::const_buffer const>(gather_.data(), count));
}

void session_driver::on_write_done(error_code ec, std::size_t n) {
    writing_ = false;
    if (!engine_.is_alive()) {
        engine_.commit_send(n);  // only a farewell frame can be in it
        if (ending_ == ending::after_farewell && (ec || !engine_.want_write())) {
            close_transport_now();
        }
        // The borrowed payloads of this write are free now: finish what waited for it.
        fail_deferred_writes();
        settle();
        return;
    }
    engine_.commit_send(n);
    if (ec) {
        // Like Go, a failed write does not end reading: the peer's last frames (data, FIN)
        // may still wait in the receive queue. The session ends when reading does.
        // A transport whose reading never ends still ends the session shortly.
        write_error_ = ec;
        write_error_deadline_ = core::clock::now() + write_error_grace;
        fail_writes_after_transport_error();
    }
    settle();
}

// ---- events

void session_driver::deliver_events() {
    // Handling an event may feed the engine again: new events join the same queue. Only
    // settle calls this, and settle does not nest, so no event is handled inside another.
    while (auto e = engine_.poll_event()) {
        auto* st = static_cast<stream_ops*>(e->context);
        switch (e->what) {
            case core::event::kind::incoming:
                while (!accept_ops_.empty()) {
                    error_code ec;
                    auto s = try_accept(ec);
                    if (!s && !ec) {
                        break;
                    }
                    auto op = std::move(accept_ops_.front());
                    accept_ops_.pop_front();
                    op.second.complete(ec, s ? std::move(*s) : stream{});
                }
                break;
            case core::event::kind::readable:
                if (st != nullptr) {
                    complete_read_if_ready(*st);
                }
                break;
            case core::event::kind::writable:
                if (st != nullptr) {
                    retry_write(*st);
                }
                break;
            case core::event::kind::write_done:
                if (st != nullptr) {
                    complete_write(*st, e->bytes);
                }
                break;
            case core::event::kind::closed:
                handle_closed(e->ec);
                break;
        }
    }
}

void session_driver::handle_closed(error_code ec) {
    ended_with_ = ec;  // published by the release store below
    open_.store(false, std::memory_order_release);
    timer_.cancel();
    end_transport(ec);
    // Reads get their buffered data first, then the terminal error.
    for (stream_ops* st : live_streams()) {
        complete_read_if_ready(*st);
    }
    // A write whose bytes may sit in the transport's current write must wait for it.
    if (!writing_) {
        fail_deferred_writes();
    }
    while (!accept_ops_.empty()) {
        error_code aec;
        auto s = try_accept(aec);
        auto op = std::move(accept_ops_.front());
        accept_ops_.pop_front();
        op.second.complete(aec, s ? std::move(*s) : stream{});
    }
    while (!wait_ops_.empty()) {
        auto op = std::move(wait_ops_.front());
        wait_ops_.pop_front();
        op.second.complete(ec);
    }
    // Pending shutdowns complete in settle's next step.
}

void session_driver::end_transport(error_code ec) {
    if (engine_.want_write() && !write_error_) {
        ending_ = ending::after_farewell;  // flush writes it; its completion closes
        arm_end_deadline();
        return;
    }
    bool const graceful = shutting_down_ && ec == error::session_closed && !write_error_;
    if (graceful && transport_can_end_gracefully()) {
        arm_end_deadline();
        if (reading_) {
            ending_ = ending::graceful_after_read;  // one operation of each kind at a time
            transport_cancel_read();
            return;
        }
        ending_ = ending::graceful;
        transport_end_gracefully();
        return;
    }
    close_transport_now();
}

void session_driver::close_transport_now() noexcept {
    if (ending_ == ending::closed) {
        return;
    }
    ending_ = ending::closed;
    transport_close();
    timer_.cancel();
}

void session_driver::fail_writes_after_transport_error() {
    // The engine keeps these writes registered, but it is never asked to send again, so the
    // borrowed buffers are not touched after their handlers ran.
    for (stream_ops* st : live_streams()) {
        if (st->write_op) {
            finish_write(*st, write_error_, 0);
            erase_stream_if_done(*st);
        }
    }
}

void session_driver::fail_deferred_writes() {
    error_code const ec = engine_.terminal_error();
    for (stream_ops* st : live_streams()) {
        if (st->write_op) {
            error_code const wec = st->write_op.data().error;
            finish_write(*st, wec ? wec : ec, 0);
            erase_stream_if_done(*st);  // last use of st: it may be gone afterwards
        }
    }
}

// ---- session operations

stream session_driver::make_stream(core::stream_id id) {
    auto st = std::make_shared<stream_ops>(id);
    engine_.set_context(id, st.get());
    live_.push_back(*st);
    return stream(shared_from_this(), std::move(st));
}

std::optional<stream> session_driver::open_stream(error_code& ec) {
    auto id = engine_.open_stream(ec);
    if (!id) {
        return std::nullopt;
    }
    auto s = make_stream(*id);
    settle();
    return s;
}

std::optional<stream> session_driver::try_accept(error_code& ec) {
    auto id = engine_.accept_stream(ec);
    if (!id) {
        return std::nullopt;
    }
    auto s = make_stream(*id);
    settle();  // the accept queue has room again: reading may resume
    return s;
}

std::optional<error_code> session_driver::terminal_error() const {
    if (engine_.is_alive()) {
        return std::nullopt;
    }
    return engine_.terminal_error();
}

std::optional<error_code> session_driver::ended_with() const noexcept {
    if (open_.load(std::memory_order_acquire)) {
        return std::nullopt;
    }
    return ended_with_;
}

void session_driver::close(error_code ec) {
    if (engine_.is_alive()) {
        engine_.close(ec);
    } else if (ending_ != ending::open) {
        close_transport_now();  // no more waiting for a farewell or a closing handshake
    }
    settle();
}

void session_driver::begin_shutdown() {
    if (engine_.is_alive() && !shutting_down_) {
        shutting_down_ = true;
        engine_.shutdown_streams();
    }
    settle();
}

bool session_driver::finish_shutdown_if_flushed() {
    if (shutdown_ops_.empty()) {
        return false;
    }
    if (engine_.is_alive()) {
        if (write_error_) {
            engine_.close(write_error_);  // nothing more can be flushed
            return true;
        }
        if (!writing_ && !engine_.want_write()) {
            engine_.close(make_error_code(error::session_closed));
            return true;
        }
        return false;
    }
    error_code const ec = engine_.terminal_error();
    error_code const result = ec == error::session_closed ? error_code{} : ec;
    while (!shutdown_ops_.empty()) {
        wait_op op = std::move(shutdown_ops_.front());
        shutdown_ops_.pop_front();
        op.complete(result);
    }
    return false;
}

}  // namespace smux::detail
