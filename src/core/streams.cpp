// The application side of the engine: opening, accepting, reading, writing and closing
// streams, with Go's id allocation, receive credit and v2 window rules.

#include <algorithm>
#include <cstring>

#include "session_state.hpp"

namespace smux::core {

using detail::stream_record;

stream_record* session_state::find_live(stream_id id) noexcept {
    stream_record* s = streams_.find(id);
    return s == nullptr || s->closed ? nullptr : s;
}

stream_record& session_state::create_stream(stream_id id) {
    stream_record& s = streams_.emplace(id);
    s.window = static_cast<std::uint32_t>(cfg_.max_stream_buffer);
    ++counters_.streams_open;
    return s;
}

std::int32_t session_state::send_allowance(stream_record const& s) const noexcept {
    if (cfg_.version < 2) {
        return INT32_MAX;
    }
    auto const inflight = static_cast<std::int32_t>(s.sent() - s.peer_consumed);
    return static_cast<std::int32_t>(s.peer_window) - inflight;
}

std::optional<stream_id> session_state::open_stream(error_code& ec) {
    ec = {};
    if (!alive_) {
        ec = terminal_;
        return std::nullopt;
    }
    if (go_away_) {
        ec = make_error_code(error::go_away);
        return std::nullopt;
    }
    stream_id const sid = last_id_ + 2;
    if (sid == sid % 2) {  // the id space wrapped (Go's overflow test)
        go_away_ = true;
        ec = make_error_code(error::go_away);
        return std::nullopt;
    }
    last_id_ = sid;
    // Registered before its SYN is queued, so an instant reply is never dropped.
    stream_record& s = create_stream(sid);
    s.syn_pending = true;
    ctrl_.push_back(s);
    ++counters_.streams_opened;
    return sid;
}

std::optional<stream_id> session_state::accept_stream(error_code& ec) {
    ec = {};
    while (!backlog_.empty()) {
        stream_id const sid = backlog_.front();
        backlog_.pop_front();
        if (stream_record* s = streams_.find(sid); s != nullptr && s->in_backlog) {
            s->in_backlog = false;
            return sid;
        }
    }
    if (!alive_) {
        ec = terminal_;
        return std::nullopt;
    }
    accept_waiting_ = true;
    return std::nullopt;
}

void session_state::consumed(stream_record& s, std::size_t n) {
    s.rx_bytes -= static_cast<std::uint32_t>(n);
    memory_.released(n);
    credit(s, n);
}

void session_state::credit(stream_record& s, std::size_t n) {
    if (cfg_.version < 2 || !alive_ || n == 0) {
        return;
    }
    // Go's rule (stream.go tryReadv2): announce at half the window, and on the first read.
    auto const n32 = static_cast<std::uint32_t>(n);
    s.read_total += n32;
    if (s.read_total - s.upd_consumed >= s.window / 2 || s.read_total == n32) {
        if (cfg_.stream_window_autotune && s.rx_bytes == 0) {
            // The reader drained everything: the window, not the reader, limits this stream.
            auto const cap = static_cast<std::uint32_t>(
                std::max(cfg_.max_stream_buffer, cfg_.max_receive_buffer / 4));
            s.window = std::min(cap, s.window > cap / 2 ? cap : s.window * 2);
        }
        // The value Go would send now; a later trigger before it leaves replaces it.
        s.upd_consumed = s.read_total;
        if (s.read_total != 0) {
            s.upd_pending = true;
            ctrl_.push_back(s);
        }
    }
}

read_result session_state::read(stream_id id, std::span<std::span<std::byte> const> out) {
    stream_record* found = find_live(id);
    if (found == nullptr) {
        return {.state = read_result::status::failed, .ec = make_error_code(error::stream_closed)};
    }
    stream_record& s = *found;
    std::size_t copied = 0;
    for (std::span<std::byte> dst : out) {
        while (!dst.empty() && !s.rx.empty()) {
            rx_chunk& c = s.rx.front();
            std::size_t const n = std::min<std::size_t>(dst.size(), c.length);
            std::memcpy(dst.data(), c.buffer->data() + c.offset, n);
            dst = dst.subspan(n);
            copied += n;
            c.offset += static_cast<std::uint32_t>(n);
            c.length -= static_cast<std::uint32_t>(n);
            if (c.length == 0) {
                memory_.unpin(*c.buffer);
                s.rx.pop_front();
            }
        }
    }
    trim_receive_queue(s);
    if (copied > 0) {
        consumed(s, copied);
        return {.bytes = copied, .state = read_result::status::data};
    }
    if (s.rx_bytes > 0) {  // `out` was empty
        return {.state = read_result::status::data};
    }
    return readiness(s);
}

void session_state::trim_receive_queue(stream_record& s) noexcept {
    if (s.rx.empty()) {
        s.rx.clear();  // an idle stream keeps no receive memory
    }
}

take_result session_state::take(stream_id id, std::size_t max_bytes, std::span<rx_chunk> out) {
    stream_record* found = find_live(id);
    if (found == nullptr) {
        return {.read = {.state = read_result::status::failed,
                         .ec = make_error_code(error::stream_closed)}};
    }
    stream_record& s = *found;
    std::size_t taken = 0;
    std::size_t chunks = 0;
    while (chunks < out.size() && taken < max_bytes && !s.rx.empty()) {
        rx_chunk& c = s.rx.front();
        std::size_t const n = std::min<std::size_t>(max_bytes - taken, c.length);
        if (n == c.length) {
            out[chunks++] = std::move(c);  // its pin goes with it
            s.rx.pop_front();
        } else {
            // The caller's view and the rest share the block: each holds a pin.
            out[chunks++] = rx_chunk{c.buffer, c.offset, static_cast<std::uint32_t>(n)};
            memory_.pin(*c.buffer);
            c.offset += static_cast<std::uint32_t>(n);
            c.length -= static_cast<std::uint32_t>(n);
        }
        taken += n;
    }
    trim_receive_queue(s);
    if (taken > 0) {
        // Out of the stream, not out of the budget: `release` gives budget and credit back.
        s.rx_bytes -= static_cast<std::uint32_t>(taken);
        return {.read = {.bytes = taken, .state = read_result::status::data}, .chunks = chunks};
    }
    if (s.rx_bytes > 0) {  // `out` or `max_bytes` was empty
        return {.read = {.state = read_result::status::data}};
    }
    return {.read = readiness(s)};
}

void session_state::release(stream_id id, std::span<rx_chunk> chunks) {
    std::size_t n = 0;
    for (rx_chunk& c : chunks) {
        if (!c.buffer) {
            continue;
        }
        n += c.length;
        memory_.unpin(*c.buffer);
        c = {};
    }
    memory_.released(n);
    if (stream_record* s = find_live(id); s != nullptr) {
        credit(*s, n);
    }
}

read_result session_state::poll_read(stream_id id) {
    stream_record* s = find_live(id);
    if (s == nullptr) {
        return {.state = read_result::status::failed, .ec = make_error_code(error::stream_closed)};
    }
    return readiness(*s);
}

read_result session_state::readiness(stream_record& s) {
    if (s.rx_bytes > 0) {
        return {.bytes = s.rx_bytes, .state = read_result::status::data};
    }
    if (s.remote_fin) {
        return {.state = read_result::status::end_of_stream};
    }
    if (!alive_) {
        return {.state = read_result::status::failed, .ec = terminal_};
    }
    s.want_readable = true;
    return {.state = read_result::status::would_block};
}

std::size_t session_state::readable_bytes(stream_id id) const noexcept {
    stream_record const* s = streams_.find(id);
    return s == nullptr ? 0 : s->rx_bytes;
}

namespace {

smux::stream_state state_of(stream_record const& s, bool session_alive) noexcept {
    bool const writes_ended = s.fin_requested || !session_alive;
    bool const reads_ended = s.remote_fin || !session_alive;
    if (writes_ended) {
        return reads_ended ? smux::stream_state::closed : smux::stream_state::write_closed;
    }
    return reads_ended ? smux::stream_state::read_closed : smux::stream_state::open;
}

}  // namespace

std::optional<smux::stream_stats> session_state::stream_stats(stream_id id) const noexcept {
    stream_record const* found = streams_.find(id);
    if (found == nullptr || found->closed) {
        return std::nullopt;
    }
    stream_record const& s = *found;
    bool const v2 = cfg_.version >= 2;
    return smux::stream_stats{
        .bytes_received = s.bytes_in,
        .bytes_sent = s.bytes_out,
        .frames_received = s.frames_in,
        .frames_sent = s.frames_out,
        .buffered_bytes = s.rx_bytes,
        .send_window = v2 ? static_cast<std::uint32_t>(std::max(send_allowance(s), 0)) : 0U,
        .receive_window = v2 ? s.window : 0U,
        .state = state_of(s, alive_),
    };
}

write_result session_state::write(stream_id id, std::span<std::span<std::byte const> const> src) {
    if (!alive_) {
        return {.ec = terminal_};
    }
    stream_record* s = find_live(id);
    if (s == nullptr) {
        return {.ec = make_error_code(error::stream_closed)};
    }
    if (s->fin_requested) {
        return {.ec = make_error_code(error::broken_pipe)};
    }
    if (s->write != nullptr) {
        return {.ec = make_error_code(error::operation_in_progress)};
    }
    std::size_t total = 0;
    for (auto const& b : src) {
        total += b.size();
    }
    if (total == 0) {
        return {};  // Go sends nothing for an empty write
    }
    std::int32_t const allowed = send_allowance(*s);
    if (allowed <= 0) {
        s->want_writable = true;
        ++counters_.window_stalls;
        return {};
    }
    std::size_t const accepted = std::min(total, static_cast<std::size_t>(allowed));
    detail::write_cursor& w = start_write(*s);
    w.src = src;
    w.accepted = accepted;
    data_.push_back(*s);
    return {.accepted = accepted};
}

detail::write_cursor& session_state::start_write(stream_record& s) {
    if (spare_write_cursors_.empty()) {
        s.write = std::make_unique<detail::write_cursor>();
    } else {
        s.write = std::move(spare_write_cursors_.back());
        spare_write_cursors_.pop_back();
        *s.write = {};
    }
    return *s.write;
}

void session_state::end_write(stream_record& s) noexcept {
    if (s.write == nullptr) {
        return;
    }
    if (spare_write_cursors_.size() < max_spare_write_cursors) {
        spare_write_cursors_.push_back(std::move(s.write));  // within the reserved capacity
    }
    s.write.reset();
}

void session_state::finish_write_if_done(stream_record& s) {
    detail::write_cursor const* w = s.write.get();
    if (w == nullptr || w->framed < w->accepted || w->frames_in_flight > 0) {
        return;
    }
    std::size_t const bytes = w->accepted;
    end_write(s);
    emit({.what = event::kind::write_done, .id = s.id, .context = s.context, .bytes = bytes});
}

void session_state::abort_write(stream_id id) {
    stream_record* s = find_live(id);
    if (s == nullptr || s->write == nullptr) {
        return;
    }
    s->write->accepted = s->write->framed;
    if (!s->has_data_work()) {
        data_.erase(*s);
    }
    finish_write_if_done(*s);
}

error_code session_state::close_write(stream_id id) {
    if (!alive_) {
        return terminal_;
    }
    stream_record* s = find_live(id);
    if (s == nullptr) {
        return make_error_code(error::stream_closed);
    }
    if (!s->fin_requested) {
        s->fin_requested = true;
        data_.push_back(*s);
    }
    return {};
}

void session_state::drop_received(stream_record& s) noexcept {
    s.rx.for_each([this](rx_chunk& c) { memory_.unpin(*c.buffer); });
    memory_.released(s.rx_bytes);
    s.rx_bytes = 0;
    s.rx.clear();
}

void session_state::close_stream(stream_id id) {
    stream_record* s = find_live(id);
    if (s == nullptr) {
        return;
    }
    drop_received(*s);
    s->closed = true;
    s->want_readable = s->want_writable = false;
    s->upd_pending = false;
    if (!s->syn_pending) {
        ctrl_.erase(*s);
    }
    if (s->write != nullptr) {
        s->write->accepted = s->write->framed;  // bytes not yet in a frame are dropped
        finish_write_if_done(*s);
    }
    if (alive_ && !s->fin_requested) {
        s->fin_requested = true;
    }
    if (alive_ && s->has_data_work()) {
        data_.push_back(*s);
    } else {
        data_.erase(*s);
    }
    maybe_forget(*s);
}

void session_state::maybe_forget(stream_record& s) {
    if (!s.closed || s.frames_in_flight > 0 || s.write != nullptr) {
        return;
    }
    if (alive_ && (!s.fin_sent || ctrl_.contains(s))) {
        return;
    }
    ctrl_.erase(s);
    data_.erase(s);
    --counters_.streams_open;
    streams_.erase(s.id);
}

void session_state::set_context(stream_id id, void* context) noexcept {
    if (stream_record* s = find_live(id); s != nullptr) {
        s->context = context;
    }
}

void session_state::shutdown_streams() {
    if (!alive_) {
        return;
    }
    streams_.for_each([this](stream_record& s) {
        if (!s.closed && !s.fin_requested) {
            s.fin_requested = true;
            data_.push_back(s);
        }
    });
}

}  // namespace smux::core
