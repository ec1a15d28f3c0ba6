// Session lifetime, keep-alive timers and events, and the public `core::session` facade.

#include "smux/core/session.hpp"

#include <algorithm>

#include "session_state.hpp"

namespace smux::core {

namespace {

constexpr std::size_t arena_bytes = std::size_t{16} * 1024;
constexpr std::size_t min_pinned_limit = std::size_t{256} * 1024;

std::size_t pinned_limit(config const& cfg, session::options const& opts) {
    if (opts.max_pinned_bytes != 0) {
        return opts.max_pinned_bytes;
    }
    return std::max(2 * static_cast<std::size_t>(cfg.max_receive_buffer), min_pinned_limit);
}

}  // namespace

session_state::session_state(role r, config const& cfg, time_point now,
                             session::options const& opts)
    : cfg_(cfg),
      role_(r),
      opts_(opts),
      last_id_(r == role::client ? 1 : 0),
      memory_(static_cast<std::size_t>(cfg.max_receive_buffer), pinned_limit(cfg, opts)),
      batch_(arena_bytes),
      keepalive_(now, cfg.keep_alive_interval, cfg.keep_alive_timeout) {
    validate_or_throw(cfg_);
    opts_.max_batch_segments = std::max<std::size_t>(opts_.max_batch_segments, 4);
    spare_write_cursors_.reserve(max_spare_write_cursors);
}

void session_state::close(error_code ec) {
    if (!alive_) {
        return;
    }
    alive_ = false;
    terminal_ = ec;
    nop_pending_ = false;
    refusals_.clear();
    accept_waiting_ = false;
    while (!ctrl_.empty()) {
        ctrl_.pop_front();
    }
    while (!data_.empty()) {
        data_.pop_front();
    }
    // The batch being written is abandoned: no frame of it counts as sent. Its arena stays
    // allocated because the transport may still be reading it.
    batch_.clear();
    streams_.erase_if([this](detail::stream_record& s) {
        s.frames_in_flight = 0;
        end_write(s);
        s.syn_pending = s.upd_pending = false;
        s.want_readable = s.want_writable = false;
        if (s.closed) {
            --counters_.streams_open;
        }
        return s.closed;
    });
    emit({.what = event::kind::closed, .ec = ec});
}

void session_state::on_timer(time_point now) {
    if (!alive_ || cfg_.keep_alive_disabled) {
        return;
    }
    if (keepalive_.ping_due(now)) {
        nop_pending_ = true;
    }
    // Reading paused by our own flow control is not the peer's silence (Go: bucket <= 0).
    using outcome = detail::keepalive_schedule::check_outcome;
    if (keepalive_.check(now) == outcome::peer_silent && !reading_paused()) {
        fail(error::keepalive_timeout);
    }
}

std::optional<time_point> session_state::next_timer() const noexcept {
    if (!alive_ || cfg_.keep_alive_disabled) {
        return std::nullopt;
    }
    return keepalive_.next();
}

std::optional<event> session_state::poll_event() {
    return events_.pop();
}

// ---- facade

session::session(role r, config const& cfg, time_point now) : session(r, cfg, now, options{}) {}

session::session(role r, config const& cfg, time_point now, options const& opts)
    : s_(std::make_unique<session_state>(r, cfg, now, opts)) {}

session::~session() = default;
session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;

std::size_t session::receive(rx_chunk const& bytes) {
    return s_->receive(bytes);
}

std::size_t session::receive(std::span<std::byte const> bytes) {
    if (bytes.empty()) {
        return 0;
    }
    rx_chunk c{rx_buffer_ptr::allocate(bytes.size()), 0, static_cast<std::uint32_t>(bytes.size())};
    std::copy(bytes.begin(), bytes.end(), c.buffer->data());
    c.buffer->set_size(bytes.size());
    return s_->receive(c);
}

bool session::want_read() const noexcept {
    return s_->alive_ && !s_->reading_paused();
}

std::span<std::span<std::byte const> const> session::prepare_send() {
    return s_->prepare_send();
}
void session::commit_send(std::size_t n) {
    s_->commit_send(n);
}
bool session::want_write() const noexcept {
    return s_->want_write();
}

std::optional<stream_id> session::open_stream(error_code& ec) {
    return s_->open_stream(ec);
}
std::optional<stream_id> session::accept_stream(error_code& ec) {
    return s_->accept_stream(ec);
}

read_result session::read(stream_id id, std::span<std::span<std::byte> const> out) {
    return s_->read(id, out);
}

read_result session::poll_read(stream_id id) {
    return s_->poll_read(id);
}

std::size_t session::readable_bytes(stream_id id) const noexcept {
    return s_->readable_bytes(id);
}

take_result session::take(stream_id id, std::size_t max_bytes, std::span<rx_chunk> out) {
    return s_->take(id, max_bytes, out);
}

void session::release(stream_id id, std::span<rx_chunk> chunks) {
    s_->release(id, chunks);
}

std::optional<stream_stats> session::stream_stats(stream_id id) const noexcept {
    return s_->stream_stats(id);
}

write_result session::write(stream_id id, std::span<std::span<std::byte const> const> src) {
    return s_->write(id, src);
}

void session::abort_write(stream_id id) {
    s_->abort_write(id);
}
error_code session::close_write(stream_id id) {
    return s_->close_write(id);
}
void session::close_stream(stream_id id) {
    s_->close_stream(id);
}
void session::set_context(stream_id id, void* context) noexcept {
    s_->set_context(id, context);
}

void* session::context(stream_id id) const noexcept {
    auto const* s = s_->streams_.find(id);
    return s == nullptr || s->closed ? nullptr : s->context;
}
void session::shutdown_streams() {
    s_->shutdown_streams();
}
void session::close(error_code ec) {
    s_->close(ec);
}

void session::on_timer(time_point now) {
    s_->on_timer(now);
}
std::optional<time_point> session::next_timer() const noexcept {
    return s_->next_timer();
}
std::optional<event> session::poll_event() {
    return s_->poll_event();
}

bool session::is_alive() const noexcept {
    return s_->alive_;
}
error_code session::terminal_error() const noexcept {
    return s_->terminal_;
}

session_counters session::counters() const noexcept {
    session_counters c = s_->counters_;
    c.buffered_bytes = s_->memory_.buffered_bytes();
    c.pinned_bytes = s_->memory_.pinned_bytes();
    return c;
}

config const& session::configuration() const noexcept {
    return s_->cfg_;
}
role session::session_role() const noexcept {
    return s_->role_;
}

stream_id session::next_stream_id() const noexcept {
    if (s_->go_away_) {
        return 0;
    }
    stream_id const next = s_->last_id_ + 2;
    return next == next % 2 ? 0 : next;
}

}  // namespace smux::core
