// The inbound half of the engine: parses frames from connection bytes and applies the
// receiver rules of the Go reference (docs/protocol.md §4), with its newest validation.

#include <algorithm>
#include <bit>
#include <cstring>

#include "session_state.hpp"

namespace smux::core {

using detail::frame_parser;
using detail::stream_record;

bool session_state::reading_paused() const noexcept {
    return memory_.over_limit() ||
           backlog_.size() >= static_cast<std::size_t>(cfg_.accept_backlog) ||
           refusals_.size() >= opts_.max_pending_refusals;
}

// Small payloads are copied into a small block owned by the stream so that a few bytes never
// keep a large connection block alive; large ones are kept as views (no copy).
void session_state::deliver(stream_id id, rx_chunk const& in, std::size_t offset, std::size_t n,
                            bool first_piece) {
    stream_record* s = find_live(id);
    if (s == nullptr) {
        counters_.frames_ignored += first_piece ? 1U : 0U;
        return;  // unknown or closed stream: dropped without charging the budget (Go)
    }
    s->frames_in += first_piece ? 1U : 0U;
    std::byte const* src = in.buffer->data() + in.offset + offset;
    if (n < opts_.copy_threshold) {
        rx_chunk* tail = s->rx.live_back();
        bool appendable = tail != nullptr && tail->buffer->use_count() == 1 &&
                          tail->offset + tail->length == tail->buffer->size() &&
                          tail->buffer->unused().size() >= n;
        if (appendable) {
            std::memcpy(tail->buffer->unused().data(), src, n);
            tail->buffer->set_size(tail->buffer->size() + n);
            tail->length += static_cast<std::uint32_t>(n);
        } else {
            // Sized to what the stream holds, so a burst of tiny messages to many streams
            // leaves no large blocks behind; a stream that accumulates gets larger blocks.
            std::size_t const capacity =
                std::max(n, std::bit_ceil(std::clamp<std::size_t>(n + s->rx_bytes, 16, 4'096)));
            rx_chunk c{rx_buffer_ptr::allocate(capacity), 0, static_cast<std::uint32_t>(n)};
            std::memcpy(c.buffer->data(), src, n);
            c.buffer->set_size(n);
            memory_.pin(*c.buffer);
            s->rx.push_back(std::move(c));
        }
    } else {
        memory_.pin(*in.buffer);
        s->rx.push_back(rx_chunk{in.buffer, static_cast<std::uint32_t>(in.offset + offset),
                                 static_cast<std::uint32_t>(n)});
    }
    s->rx_bytes += static_cast<std::uint32_t>(n);  // bounded by the session budget
    s->bytes_in += n;
    memory_.buffered(n);
    if (cfg_.version == 2) {
        if (static_cast<std::int32_t>(s->received_total() - s->granted) > 0) {
            fail(error::window_overrun);
            return;
        }
    }
    if (s->want_readable) {
        s->want_readable = false;
        emit({.what = event::kind::readable, .id = s->id, .context = s->context});
    }
}

namespace {

bool is_own_parity(role r, stream_id id) noexcept {
    bool const odd = (id & 1U) != 0;
    return r == role::client ? odd : !odd;
}

}  // namespace

std::size_t session_state::receive(rx_chunk const& in) {
    std::size_t const total = in.length;
    if (!alive_) {
        return total;
    }
    std::byte const* base = in.buffer->data() + in.offset;
    std::size_t pos = 0;
    while (pos < total && alive_) {
        switch (parser_.next()) {
            case frame_parser::part::header:
                if (parser_.between_frames() && reading_paused()) {
                    counters_.bytes_received += pos;
                    return pos;  // the caller keeps the rest and offers it again later
                }
                if (parser_.gather(base, pos, total)) {
                    on_header(parser_.start_frame());
                }
                break;
            case frame_parser::part::payload: {
                bool const first_piece = parser_.payload_untouched();
                std::size_t const n = parser_.take_payload(total - pos);
                deliver(parser_.current().sid, in, pos, n, first_piece);
                pos += n;
                break;
            }
            case frame_parser::part::update:
                if (parser_.gather(base, pos, total)) {
                    parser_.end_update();
                    on_update(parser_.current().sid,
                              decode_update(std::span<std::byte const, update_payload_size>(
                                  parser_.staged().data(), update_payload_size)));
                }
                break;
        }
    }
    counters_.bytes_received += pos;
    return alive_ ? pos : total;
}

void session_state::on_header(frame_header const& h) {
    ++counters_.frames_received;
    keepalive_.frame_seen();
    if (auto ec = validate_header(h, cfg_.version)) {
        bool const peer_speaks_another_version =
            ec == error::invalid_version && counters_.frames_received == 1;
        bool const nothing_being_written = !batch_.unsent();
        close(ec);
        if (peer_speaks_another_version && nothing_being_written) {
            say_version();
        }
        return;
    }
    switch (h.cmd) {
        case command::nop:
            ++counters_.keepalives_received;
            break;
        case command::syn:
            on_syn(h.sid);
            break;
        case command::fin:
            on_fin(h.sid);
            break;
        case command::psh:
            if (h.length == 0) {
                count_stream_frame(h.sid);  // no payload piece will count it
            }
            parser_.expect_payload();
            break;
        case command::upd:
            parser_.expect_update();
            break;
    }
}

// An empty PSH frame counts here; others count with their first payload piece (`deliver`).
void session_state::count_stream_frame(stream_id sid) noexcept {
    if (stream_record* s = find_live(sid); s != nullptr) {
        ++s->frames_in;
    } else {
        ++counters_.frames_ignored;
    }
}

void session_state::on_syn(stream_id sid) {
    if (sid == 0 || is_own_parity(role_, sid)) {
        fail(error::invalid_stream_id);
        return;
    }
    if (streams_.contains(sid)) {
        ++counters_.frames_ignored;
        return;  // duplicate SYN: ignored (Go)
    }
    if (streams_.size() >= static_cast<std::size_t>(cfg_.max_streams)) {
        refusals_.push_back(sid);
        ++counters_.streams_refused;
        return;
    }
    stream_record& s = create_stream(sid);
    s.frames_in = 1;
    s.in_backlog = true;
    backlog_.push_back(sid);
    ++counters_.streams_accepted;
    if (accept_waiting_) {
        accept_waiting_ = false;
        emit({.what = event::kind::incoming, .id = sid});
    }
}

void session_state::on_fin(stream_id sid) {
    stream_record* s = find_live(sid);
    if (s == nullptr || s->remote_fin) {
        ++counters_.frames_ignored;
        return;  // unknown stream or duplicate FIN: ignored (Go)
    }
    ++s->frames_in;
    s->remote_fin = true;
    if (s->want_readable) {
        s->want_readable = false;
        emit({.what = event::kind::readable, .id = sid, .context = s->context});
    }
}

void session_state::on_update(stream_id sid, window_update const& u) {
    stream_record* s = find_live(sid);
    if (s == nullptr) {
        ++counters_.frames_ignored;
        return;  // unknown stream: ignored (Go)
    }
    ++s->frames_in;
    s->peer_consumed = u.consumed;
    s->peer_window = u.window;
    // Nobody can have consumed bytes that were never handed to the transport. (Committed
    // bytes would be too strict: a transport write may deliver its first bytes, and the peer
    // acknowledge them, before the write completes.)
    if (static_cast<std::int32_t>(s->sent_framed - s->peer_consumed) < 0) {
        fail(error::invalid_window_update);
        return;
    }
    if (s->want_writable && send_allowance(*s) > 0) {
        s->want_writable = false;
        emit({.what = event::kind::writable, .id = s->id, .context = s->context});
    }
}

}  // namespace smux::core
