// The driver between the sans-I/O engine and an Asio transport. All of it runs on the
// session's strand: transport completions feed the engine, the engine's events complete the
// parked stream operations. Every entry into the strand (a transport completion, the timer,
// an initiating function, a cancellation, a close) changes the engine's state and then ends
// in `settle`, which does whatever the engine now wants in one fixed order; no entry starts
// the reader, the writer or the timer by hand.

#include "smux/detail/session_impl.hpp"

#include <algorithm>

#include "smux/stream.hpp"

namespace smux::detail {

namespace {

/// One transport read asks for this much; small remnants of a block are not read into.
constexpr std::size_t rx_block_size = 64 * 1024;
constexpr std::size_t rx_min_read = 4 * 1024;

/// After a failed write, reading goes on this long at most (a peer that closed has its last
/// frames in our receive queue; they take microseconds to read).
constexpr auto write_error_grace = std::chrono::seconds(1);

/// Completes and removes the parked session operation with this serial, if still parked.
template <class Ops, class... Args>
void complete_by_serial(Ops& ops, std::uint64_t serial, Args&&... args) {
    auto it =
        std::find_if(ops.begin(), ops.end(), [serial](auto const& p) { return p.first == serial; });
    if (it != ops.end()) {
        auto op = std::move(*it);
        ops.erase(it);
        op.second.complete(std::forward<Args>(args)...);
    }
}

error_code map_transport_error(error_code ec) {
    if (ec == net::error::eof) {
        return make_error_code(error::connection_closed);
    }
    return ec;
}

}  // namespace

// ---- registry of live sessions

void session_registry::add(session_impl& s) {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
        return;
    }
    s.registry_next_ = head_;
    if (head_ != nullptr) {
        head_->registry_prev_ = &s;
    }
    head_ = &s;
}

void session_registry::remove(session_impl& s) noexcept {
    std::lock_guard lock(mutex_);
    if (s.registry_prev_ != nullptr) {
        s.registry_prev_->registry_next_ = s.registry_next_;
    } else if (head_ == &s) {
        head_ = s.registry_next_;
    }
    if (s.registry_next_ != nullptr) {
        s.registry_next_->registry_prev_ = s.registry_prev_;
    }
    s.registry_prev_ = s.registry_next_ = nullptr;
}

void session_registry::shutdown() {
    // Handlers may own the last reference to a session: keep each alive while it drops its
    // handlers, and work on a snapshot because a dying session unlinks itself.
    std::vector<std::shared_ptr<session_impl>> live;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        for (session_impl* s = head_; s != nullptr; s = s->registry_next_) {
            if (auto p = s->weak_from_this().lock()) {
                live.push_back(std::move(p));
            }
        }
    }
    for (auto& s : live) {
        s->destroy_parked_ops();
    }
}

// ---- lifecycle

session_impl::session_impl(core::role r, config const& cfg, net::any_io_executor const& io_ex)
    : strand_(net::make_strand(io_ex)),
      executor_(strand_),
      role_(r),
      cfg_(cfg),
      core_(r, cfg, core::clock::now()),
      timer_(strand_),
      registry_(net::use_service<session_service>(net::query(io_ex, net::execution::context))
                    .registry()) {
    registry_->add(*this);
}

session_impl::~session_impl() {
    registry_->remove(*this);
}

void session_impl::start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->settle(); });
}

// ---- the settle step

void session_impl::settle() {
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
    if (core_.is_alive()) {
        arm_timer();
    }
    publish_stats();
}

void session_impl::destroy_parked_ops() noexcept {
    while (!read_deadlines_.empty()) {
        read_deadlines_.pop_front();
    }
    while (!write_deadlines_.empty()) {
        write_deadlines_.pop_front();
    }
    for (stream_state* st : live_streams()) {
        st->read_op.reset();
        st->write_op.reset();
    }
    lingering_.clear();
    accept_ops_.clear();
    wait_ops_.clear();
    shutdown_ops_.clear();
}

std::vector<stream_state*> session_impl::live_streams() const {
    std::vector<stream_state*> out;
    out.reserve(live_.size());
    for (stream_state* st = live_.front(); st != nullptr; st = live_stream_list::next(*st)) {
        out.push_back(st);
    }
    return out;
}

session_stats session_impl::stats() const noexcept {
    return stats_.load();
}

void session_impl::publish_stats() noexcept {
    stats_.publish(core_.counters());
}

// ---- receive path

bool session_impl::parse_held_bytes() {
    if (rx_pending_.length == 0 || !core_.want_read()) {
        return false;
    }
    std::size_t const took = core_.receive(rx_pending_);
    rx_pending_.offset += static_cast<std::uint32_t>(took);
    rx_pending_.length -= static_cast<std::uint32_t>(took);
    if (rx_pending_.length == 0) {
        rx_pending_.buffer.reset();
    }
    return true;
}

void session_impl::start_read() {
    if (reading_ || rx_pending_.length > 0 || !core_.is_alive() || !core_.want_read()) {
        return;
    }
    if (!rx_block_ || rx_block_->unused().size() < rx_min_read) {
        rx_block_ = core::rx_buffer_ptr::allocate(rx_block_size);
    }
    reading_ = true;
    auto room = rx_block_->unused();
    transport_read(net::buffer(room.data(), room.size()));
}

void session_impl::on_read_done(error_code ec, std::size_t n) {
    reading_ = false;
    if (!core_.is_alive()) {
        settle();  // the session ended while the read was pending
        return;
    }
    if (n > 0) {
        core::rx_chunk chunk{rx_block_, static_cast<std::uint32_t>(rx_block_->size()),
                             static_cast<std::uint32_t>(n)};
        rx_block_->set_size(rx_block_->size() + n);
        std::size_t const took = core_.receive(chunk);
        if (took < n) {
            // Held until the engine wants to read again (settle parses them then).
            chunk.offset += static_cast<std::uint32_t>(took);
            chunk.length -= static_cast<std::uint32_t>(took);
            rx_pending_ = std::move(chunk);
        }
    }
    if (ec && core_.is_alive()) {
        core_.close(map_transport_error(ec));
    }
    settle();
}

// ---- send path

void session_impl::flush() {
    if (writing_ || write_error_ || !core_.want_write()) {
        return;
    }
    auto segments = core_.prepare_send();
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

void session_impl::on_write_done(error_code ec, std::size_t n) {
    writing_ = false;
    if (!core_.is_alive()) {
        // The borrowed payloads of this write are free now: finish what waited for it.
        fail_deferred_writes();
        settle();
        return;
    }
    core_.commit_send(n);
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

// ---- timer: keep-alive ticks and operation deadlines share one steady_timer

void session_impl::arm_timer() {
    std::optional<core::time_point> next = core_.next_timer();
    auto earliest = [&next](core::time_point t) {
        if (!next || t < *next) {
            next = t;
        }
    };
    if (!read_deadlines_.empty()) {
        earliest(read_deadlines_.front()->deadline);
    }
    if (!write_deadlines_.empty()) {
        earliest(write_deadlines_.front()->deadline);
    }
    if (write_error_) {
        earliest(write_error_deadline_);
    }
    if (!next || (timer_waiting_ && timer_expiry_ <= *next)) {
        return;  // a wait that fires no later is pending; it re-arms when it fires
    }
    timer_expiry_ = *next;
    timer_waiting_ = true;
    timer_.expires_at(*next);  // cancels a later pending wait
    timer_.async_wait(net::bind_executor(
        strand_, [self = shared_from_this(), generation = ++timer_generation_](error_code) {
            self->on_timer(generation);
        }));
}

void session_impl::on_timer(std::uint64_t generation) {
    if (generation != timer_generation_) {
        return;  // replaced by an earlier deadline
    }
    timer_waiting_ = false;
    if (!core_.is_alive()) {
        return;
    }
    auto const now = core::clock::now();
    if (write_error_ && now >= write_error_deadline_) {
        close(write_error_);
        return;
    }
    core_.on_timer(now);
    expire_deadlines(now);
    settle();
}

void session_impl::expire_deadlines(core::time_point now) {
    while (!read_deadlines_.empty() && read_deadlines_.front()->deadline <= now) {
        finish_read(*read_deadlines_.front()->owner, make_error_code(error::timeout), 0);
    }
    while (!write_deadlines_.empty() && write_deadlines_.front()->deadline <= now) {
        abort_write(*write_deadlines_.front()->owner, make_error_code(error::timeout));
    }
}

void session_impl::read_parked(stream_state& st) {
    if (cfg_.stream_read_timeout.count() > 0) {
        auto& d = st.read_op.data();
        d.deadline = core::clock::now() + cfg_.stream_read_timeout;
        read_deadlines_.push_back(d);
    }
    settle();
}

void session_impl::begin_write(stream_state& st) {
    if (cfg_.stream_write_timeout.count() > 0) {
        auto& d = st.write_op.data();
        d.deadline = core::clock::now() + cfg_.stream_write_timeout;
        write_deadlines_.push_back(d);
    }
    start_write(st);
    settle();
}

void session_impl::finish_read(stream_state& st, error_code ec, std::size_t bytes) {
    read_deadlines_.erase(st.read_op.data());
    st.read_op.complete(ec, bytes);
}

void session_impl::finish_write(stream_state& st, error_code ec, std::size_t bytes) {
    write_deadlines_.erase(st.write_op.data());
    st.write_op.complete(ec, bytes);
}

// ---- events

void session_impl::deliver_events() {
    // Handling an event may feed the engine again: new events join the same queue. Only
    // settle calls this, and settle does not nest, so no event is handled inside another.
    while (auto e = core_.poll_event()) {
        auto* st = static_cast<stream_state*>(e->context);
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

void session_impl::handle_closed(error_code ec) {
    open_.store(false, std::memory_order_release);
    transport_close();
    timer_.cancel();
    // Reads get their buffered data first, then the terminal error.
    for (stream_state* st : live_streams()) {
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

void session_impl::fail_writes_after_transport_error() {
    // The engine keeps these writes registered, but it is never asked to send again, so the
    // borrowed buffers are not touched after their handlers ran.
    for (stream_state* st : live_streams()) {
        if (st->write_op) {
            finish_write(*st, write_error_, 0);
            erase_stream_if_done(*st);
        }
    }
}

void session_impl::fail_deferred_writes() {
    error_code const ec = core_.terminal_error();
    for (stream_state* st : live_streams()) {
        if (st->write_op) {
            error_code const wec = st->write_op.data().error;
            finish_write(*st, wec ? wec : ec, 0);
            erase_stream_if_done(*st);  // last use of st: it may be gone afterwards
        }
    }
}

// ---- session operations

stream session_impl::make_stream(core::stream_id id) {
    auto st = std::make_shared<stream_state>(id);
    core_.set_context(id, st.get());
    live_.push_back(*st);
    return stream(shared_from_this(), std::move(st));
}

std::optional<stream> session_impl::open_stream(error_code& ec) {
    auto id = core_.open_stream(ec);
    if (!id) {
        return std::nullopt;
    }
    auto s = make_stream(*id);
    settle();
    return s;
}

std::optional<stream> session_impl::try_accept(error_code& ec) {
    auto id = core_.accept_stream(ec);
    if (!id) {
        return std::nullopt;
    }
    auto s = make_stream(*id);
    settle();  // the accept queue has room again: reading may resume
    return s;
}

session_impl::accept_op& session_impl::park_accept(std::uint64_t serial) {
    accept_ops_.emplace_back(std::piecewise_construct, std::forward_as_tuple(serial),
                             std::forward_as_tuple());
    return accept_ops_.back().second;
}

std::optional<error_code> session_impl::terminal_error() const {
    if (core_.is_alive()) {
        return std::nullopt;
    }
    return core_.terminal_error();
}

session_impl::wait_op& session_impl::park_wait_closed(std::uint64_t serial) {
    wait_ops_.emplace_back(std::piecewise_construct, std::forward_as_tuple(serial),
                           std::forward_as_tuple());
    return wait_ops_.back().second;
}

void session_impl::close(error_code ec) {
    if (core_.is_alive()) {
        core_.close(ec);
    }
    settle();
}

session_impl::wait_op& session_impl::park_shutdown() {
    return shutdown_ops_.emplace_back();
}

void session_impl::begin_shutdown() {
    if (core_.is_alive() && !shutting_down_) {
        shutting_down_ = true;
        core_.shutdown_streams();
    }
    settle();
}

bool session_impl::finish_shutdown_if_flushed() {
    if (shutdown_ops_.empty()) {
        return false;
    }
    if (core_.is_alive()) {
        if (write_error_) {
            core_.close(write_error_);  // nothing more can be flushed
            return true;
        }
        if (!writing_ && !core_.want_write()) {
            core_.close(make_error_code(error::session_closed));
            return true;
        }
        return false;
    }
    error_code const ec = core_.terminal_error();
    error_code const result = ec == error::session_closed ? error_code{} : ec;
    while (!shutdown_ops_.empty()) {
        wait_op op = std::move(shutdown_ops_.front());
        shutdown_ops_.pop_front();
        op.complete(result);
    }
    return false;
}

// ---- stream operations

session_impl::read_outcome session_impl::try_read(stream_state& st,
                                                  std::span<std::span<std::byte> const> buffers) {
    auto const r = core_.read(st.id, buffers);
    switch (r.state) {
        case core::read_result::status::data:
            settle();  // credit came back: reading may resume and a window update be due
            return {.bytes = r.bytes};
        case core::read_result::status::end_of_stream:
            return {.ec = net::error::eof};
        case core::read_result::status::failed:
            return {.ec = st.closed ? make_error_code(error::stream_closed) : r.ec};
        case core::read_result::status::would_block:
            break;
    }
    return {.would_block = true};
}

void session_impl::complete_read_if_ready(stream_state& st) {
    if (!st.read_op) {
        return;
    }
    auto const& d = st.read_op.data();
    auto r = try_read(st, std::span(d.buffers.data(), d.buffer_count));
    if (!r.would_block) {
        finish_read(st, r.ec, r.bytes);
    }
}

void session_impl::start_write(stream_state& st) {
    if (write_error_ && core_.is_alive()) {
        finish_write(st, write_error_, 0);
        return;
    }
    auto& d = st.write_op.data();
    auto r = core_.write(st.id, std::span(d.buffers.data(), d.buffer_count));
    if (r.ec) {
        finish_write(st, r.ec, 0);
        return;
    }
    if (r.accepted > 0) {
        d.registered = true;  // settle flushes its frames
    }
    // Otherwise the window is closed: the op stays parked until `writable`.
}

void session_impl::retry_write(stream_state& st) {
    if (st.write_op && !st.write_op.data().registered) {
        start_write(st);
    }
}

void session_impl::complete_write(stream_state& st, std::size_t bytes) {
    if (st.write_op) {
        finish_write(st, st.write_op.data().error, bytes);
    }
    erase_stream_if_done(st);
}

void session_impl::shutdown_send(stream_state& st) {
    if (!st.closed) {
        (void)core_.close_write(st.id);
    }
    settle();
}

void session_impl::cancel_stream(stream_state& st) {
    cancel_ops(st);
    settle();
}

void session_impl::cancel_ops(stream_state& st) {
    if (st.read_op) {
        finish_read(st, net::error::operation_aborted, 0);
    }
    if (st.write_op) {
        abort_write(st, net::error::operation_aborted);
    }
}

void session_impl::abort_write(stream_state& st, error_code why) {
    auto& d = st.write_op.data();
    if (d.registered) {
        // Bytes already in frames still go out; the rest is dropped and the write ends
        // (at write_done) with the count that was sent.
        d.error = why;
        write_deadlines_.erase(d);
        core_.abort_write(st.id);  // its write_done event completes it
    } else {
        finish_write(st, why, 0);
    }
}

void session_impl::close_stream(std::shared_ptr<stream_state> const& st) {
    if (st->closed) {
        return;
    }
    cancel_ops(*st);
    st->closed = true;
    core_.close_stream(st->id);
    settle();  // delivers the write's completion when it is already due
    if (st->write_op) {
        lingering_.push_back(st);  // its frames are in the transport's current write
    } else {
        erase_stream_if_done(*st);
    }
}

void session_impl::erase_stream_if_done(stream_state& st) {
    if (!st.closed || st.write_op || st.read_op || !live_.contains(st)) {
        return;
    }
    live_.erase(st);
    // Dropping a lingering reference may destroy `st`: nothing may touch it afterwards.
    auto it = std::find_if(lingering_.begin(), lingering_.end(),
                           [&st](auto const& p) { return p.get() == &st; });
    if (it != lingering_.end()) {
        auto last = std::move(*it);
        lingering_.erase(it);
    }
}

void session_impl::cancel_op(op_kind kind, core::stream_id id, std::uint64_t serial,
                             net::cancellation_type type) {
    switch (kind) {
        case op_kind::read: {
            auto* st = static_cast<stream_state*>(core_.context(id));
            if (st != nullptr && st->read_op && st->read_op.data().serial == serial) {
                finish_read(*st, net::error::operation_aborted, 0);
            }
            break;
        }
        case op_kind::write: {
            auto* st = static_cast<stream_state*>(core_.context(id));
            if (st == nullptr || !st->write_op || st->write_op.data().serial != serial) {
                break;
            }
            bool const allowed =
                !st->write_op.data().registered ||
                (type & (net::cancellation_type::terminal | net::cancellation_type::partial)) !=
                    net::cancellation_type::none;
            if (allowed) {
                abort_write(*st, net::error::operation_aborted);
            }
            break;
        }
        case op_kind::accept:
            complete_by_serial(accept_ops_, serial, net::error::operation_aborted, stream{});
            break;
        case op_kind::wait_closed:
            complete_by_serial(wait_ops_, serial, net::error::operation_aborted);
            break;
    }
    settle();
}

}  // namespace smux::detail
