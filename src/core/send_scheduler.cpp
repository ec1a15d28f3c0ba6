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

namespace {

constexpr std::size_t small_payload = 128;  // copied next to its header: saves an iovec
constexpr std::size_t arena_reserve = 16;   // room kept for one more frame's header

}  // namespace

bool session_state::want_write() const noexcept {
    if (segment_head_ < segments_.size()) {
        return true;
    }
    return alive_ && (nop_pending_ || !refusals_.empty() || !ctrl_.empty() || !data_.empty());
}

std::span<std::span<std::byte const> const> session_state::prepare_send() {
    if (segment_head_ < segments_.size()) {
        return std::span(segments_).subspan(segment_head_);
    }
    segments_.clear();
    segment_head_ = 0;
    frames_.clear();
    frame_head_ = 0;
    arena_used_ = 0;
    batch_total_ = 0;
    batch_committed_ = 0;
    if (!alive_) {
        return {};
    }

    // Appends arena bytes as a segment, merged with the previous one when contiguous.
    auto add_arena_segment = [&](std::size_t offset, std::size_t n) {
        std::byte const* p = arena_.data() + offset;
        if (!segments_.empty() && segments_.back().data() + segments_.back().size() == p) {
            segments_.back() = {segments_.back().data(), segments_.back().size() + n};
        } else {
            segments_.emplace_back(p, n);
        }
        batch_total_ += n;
    };
    auto arena_room = [&] { return arena_.size() - arena_used_; };
    auto put_header = [&](command cmd, stream_id sid, std::uint16_t length) {
        std::size_t const at = arena_used_;
        encode_header({.version = static_cast<std::uint8_t>(cfg_.version),
                       .cmd = cmd,
                       .length = length,
                       .sid = sid},
                      std::span<std::byte, header_size>(arena_.data() + at, header_size));
        arena_used_ += header_size;
        add_arena_segment(at, header_size);
    };
    auto segments_full = [&] { return segments_.size() + 3 > opts_.max_batch_segments; };

    // ---- control frames
    if (nop_pending_) {
        nop_pending_ = false;
        put_header(command::nop, 0, 0);
        frames_.push_back({nullptr, batch_total_, false, false});
    }
    std::size_t refused = 0;
    while (refused < refusals_.size() && arena_room() >= arena_reserve + header_size) {
        put_header(command::fin, refusals_[refused++], 0);
        frames_.push_back({nullptr, batch_total_, true, false});
    }
    refusals_.erase(refusals_.begin(), refusals_.begin() + static_cast<std::ptrdiff_t>(refused));
    while (!ctrl_.empty() && arena_room() >= arena_reserve + header_size + update_payload_size) {
        stream_record& s = *ctrl_.pop_front();
        if (s.syn_pending) {
            s.syn_pending = false;
            put_header(command::syn, s.id, 0);
            ++s.frames_in_flight;
            frames_.push_back({&s, batch_total_, false, false});
        }
        if (s.upd_pending && !s.closed) {
            s.upd_pending = false;
            put_header(command::upd, s.id, static_cast<std::uint16_t>(update_payload_size));
            std::size_t const at = arena_used_;
            auto const window = s.window;
            if (static_cast<std::int32_t>(s.upd_consumed + window - s.granted) > 0) {
                s.granted = s.upd_consumed + window;
            }
            encode_update(
                {.consumed = s.upd_consumed, .window = window},
                std::span<std::byte, update_payload_size>(arena_.data() + at, update_payload_size));
            arena_used_ += update_payload_size;
            add_arena_segment(at, update_payload_size);
            ++s.frames_in_flight;
            frames_.push_back({&s, batch_total_, false, false});
        }
    }

    // ---- data frames, round-robin across streams
    auto const max_frame = static_cast<std::size_t>(cfg_.max_frame_size);
    while (!data_.empty() && batch_total_ < opts_.max_batch_bytes && !segments_full() &&
           arena_room() >= arena_reserve + small_payload) {
        stream_record& s = *data_.pop_front();
        if (s.has_unframed_data()) {
            detail::write_cursor& w = *s.write;
            std::size_t const want =
                std::min({w.accepted - w.framed, max_frame, opts_.max_batch_bytes - batch_total_});
            std::size_t const header_at = arena_used_;
            arena_used_ += header_size;
            add_arena_segment(header_at, header_size);
            std::size_t got = 0;
            while (got < want) {
                std::span<std::byte const> piece = w.src[w.src_index].subspan(w.src_offset);
                piece = piece.first(std::min(piece.size(), want - got));
                if (piece.size() <= small_payload && arena_room() >= piece.size() + arena_reserve) {
                    std::size_t const at = arena_used_;
                    std::memcpy(arena_.data() + at, piece.data(), piece.size());
                    arena_used_ += piece.size();
                    add_arena_segment(at, piece.size());
                } else if (segments_.size() < opts_.max_batch_segments) {
                    segments_.push_back(piece);
                    batch_total_ += piece.size();
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
            encode_header(
                {.version = static_cast<std::uint8_t>(cfg_.version),
                 .cmd = command::psh,
                 .length = static_cast<std::uint16_t>(got),
                 .sid = s.id},
                std::span<std::byte, header_size>(arena_.data() + header_at, header_size));
            w.framed += got;
            s.sent_framed += static_cast<std::uint32_t>(got);
            ++s.frames_in_flight;
            ++w.frames_in_flight;
            frames_.push_back({&s, batch_total_, false, true});
        } else if (s.fin_requested && !s.fin_framed) {
            s.fin_framed = true;
            put_header(command::fin, s.id, 0);
            ++s.frames_in_flight;
            frames_.push_back({&s, batch_total_, true, false});
        }
        if (s.has_data_work()) {
            data_.push_back(s);
        }
    }
    return segments_;
}

void session_state::commit_send(std::size_t n) {
    if (n == 0 || segment_head_ >= segments_.size()) {
        return;
    }
    counters_.bytes_sent += n;
    batch_committed_ += n;
    std::size_t left = n;
    while (left > 0 && segment_head_ < segments_.size()) {
        auto& seg = segments_[segment_head_];
        if (left >= seg.size()) {
            left -= seg.size();
            ++segment_head_;
        } else {
            seg = seg.subspan(left);
            left = 0;
        }
    }
    while (frame_head_ < frames_.size() && frames_[frame_head_].end <= batch_committed_) {
        frame_record const f = frames_[frame_head_++];
        ++counters_.frames_sent;
        if (f.stream == nullptr) {
            continue;
        }
        stream_record& s = *f.stream;
        --s.frames_in_flight;
        if (f.is_fin) {
            s.fin_sent = true;
        }
        if (f.is_write_data && s.write != nullptr) {
            --s.write->frames_in_flight;
            finish_write_if_done(s);
        }
        maybe_forget(s);
    }
}

}  // namespace smux::core
