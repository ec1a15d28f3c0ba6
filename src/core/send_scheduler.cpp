// The outbound half of the engine: builds gather lists of frames. Control frames (NOP, SYN,
// UPD, refusal FINs) go first so windows and keep-alives never starve behind bulk data; data
// frames then take turns across streams, one frame per stream per round (Go's round-robin
// shaper), and a stream's FIN follows its data. Payload is never copied except tiny pieces
// that share a segment with their header.

#include <algorithm>
#include <cstring>

#include "session_state.hpp"

namespace smux::core {

using detail::stream_record;
using frame_kind = detail::send_batch::frame_kind;

namespace {

constexpr std::size_t small_payload = 128;  // copied next to its header: saves an iovec
constexpr std::size_t arena_reserve = 16;   // room kept for one more frame's header

}  // namespace

bool session_state::want_write() const noexcept {
    if (batch_.unsent()) {
        return true;
    }
    return alive_ && (nop_pending_ || !refusals_.empty() || !ctrl_.empty() || !data_.empty());
}

std::span<std::span<std::byte const> const> session_state::prepare_send() {
    if (batch_.unsent()) {
        return batch_.unsent_segments();
    }
    batch_.clear();
    if (!alive_) {
        return {};
    }
    put_control_frames();
    put_data_frames();
    return batch_.unsent_segments();
}

frame_header session_state::header(command cmd, stream_id sid, std::size_t length) const noexcept {
    return {.version = static_cast<std::uint8_t>(cfg_.version),
            .cmd = cmd,
            .length = static_cast<std::uint16_t>(length),
            .sid = sid};
}

// NOP, refusal FINs, then each queued stream's SYN and window update.
void session_state::put_control_frames() {
    if (nop_pending_) {
        nop_pending_ = false;
        batch_.put_header(header(command::nop, 0, 0));
        batch_.end_frame(nullptr, frame_kind::keepalive);
    }
    std::size_t refused = 0;
    while (refused < refusals_.size() && batch_.arena_room() >= arena_reserve + header_size) {
        batch_.put_header(header(command::fin, refusals_[refused++], 0));
        batch_.end_frame(nullptr, frame_kind::refusal_fin);
    }
    refusals_.erase(refusals_.begin(), refusals_.begin() + static_cast<std::ptrdiff_t>(refused));
    while (!ctrl_.empty() &&
           batch_.arena_room() >= arena_reserve + header_size + update_payload_size) {
        stream_record& s = *ctrl_.pop_front();
        if (s.syn_pending) {
            s.syn_pending = false;
            batch_.put_header(header(command::syn, s.id, 0));
            ++s.frames_in_flight;
            batch_.end_frame(&s, frame_kind::syn);
        }
        if (s.upd_pending && !s.closed) {
            s.upd_pending = false;
            put_update(s);
        }
    }
}

// After a version mismatch on the peer's first frame: one NOP of our version is the last
// frame, so that a peer of the other version fails with its own invalid_version instead of
// seeing only the connection close. The batch is empty: nothing of it is being written.
void session_state::say_version() {
    batch_.clear();
    batch_.put_header(header(command::nop, 0, 0));
    batch_.end_frame(nullptr, frame_kind::keepalive);
}

void session_state::put_update(stream_record& s) {
    batch_.put_header(header(command::upd, s.id, update_payload_size));
    auto const window = s.window;
    if (static_cast<std::int32_t>(s.upd_consumed + window - s.granted) > 0) {
        s.granted = s.upd_consumed + window;
    }
    batch_.put_update({.consumed = s.upd_consumed, .window = window});
    ++s.frames_in_flight;
    batch_.end_frame(&s, frame_kind::update);
}

// One frame per stream per round: a PSH of the stream's write, or its FIN after the data.
void session_state::put_data_frames() {
    auto segments_full = [this] { return batch_.segment_count() + 3 > opts_.max_batch_segments; };
    while (!data_.empty() && batch_.total() < opts_.max_batch_bytes && !segments_full() &&
           batch_.arena_room() >= arena_reserve + small_payload) {
        stream_record& s = *data_.pop_front();
        if (s.has_unframed_data()) {
            put_psh(s);
        } else if (s.fin_requested && !s.fin_framed) {
            s.fin_framed = true;
            batch_.put_header(header(command::fin, s.id, 0));
            ++s.frames_in_flight;
            batch_.end_frame(&s, frame_kind::fin);
        }
        if (s.has_data_work()) {
            data_.push_back(s);
        }
    }
}

void session_state::put_psh(stream_record& s) {
    detail::write_cursor& w = *s.write;
    std::size_t const want =
        std::min({w.accepted - w.framed, static_cast<std::size_t>(cfg_.max_frame_size),
                  opts_.max_batch_bytes - batch_.total()});
    std::size_t const header_at = batch_.reserve_header();
    std::size_t got = 0;
    while (got < want) {
        std::span<std::byte const> piece = w.src[w.src_index].subspan(w.src_offset);
        piece = piece.first(std::min(piece.size(), want - got));
        if (piece.size() <= small_payload && batch_.arena_room() >= piece.size() + arena_reserve) {
            batch_.copy_payload(piece);
        } else if (batch_.segment_count() < opts_.max_batch_segments) {
            batch_.add_view(piece);
        } else {
            break;
        }
        got += piece.size();
        w.src_offset += piece.size();
        if (w.src_offset == w.src[w.src_index].size()) {
            ++w.src_index;
            w.src_offset = 0;
        }
    }
    batch_.rewrite_header(header_at, header(command::psh, s.id, got));
    w.framed += got;
    s.sent_framed += static_cast<std::uint32_t>(got);
    ++s.frames_in_flight;
    ++w.frames_in_flight;
    batch_.end_frame(&s, frame_kind::write_data, got);
}

void session_state::commit_send(std::size_t n) {
    if (n == 0 || !batch_.unsent()) {
        return;
    }
    counters_.bytes_sent += n;
    batch_.commit(n, [this](detail::send_batch::frame_record const& f) {
        ++counters_.frames_sent;
        if (f.kind == frame_kind::keepalive) {
            ++counters_.keepalives_sent;
        }
        if (f.stream == nullptr) {
            return;
        }
        stream_record& s = *f.stream;
        --s.frames_in_flight;
        ++s.frames_out;
        if (f.kind == frame_kind::fin) {
            s.fin_sent = true;
        }
        if (f.kind == frame_kind::write_data) {
            s.bytes_out += f.payload;
            if (s.write != nullptr) {
                --s.write->frames_in_flight;
                finish_write_if_done(s);
            }
        }
        maybe_forget(s);
    });
}

}  // namespace smux::core
