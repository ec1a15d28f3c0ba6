#ifndef SMUX_SRC_CORE_SEND_BATCH_HPP
#define SMUX_SRC_CORE_SEND_BATCH_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "smux/core/frame.hpp"
#include "stream_record.hpp"

namespace smux::core::detail {

/** The frames of one transport write: a gather list of segments (headers and small payloads
    copied into an arena; larger payloads as views of the writers' buffers, never copied) and
    where each frame ends, so that the bytes the transport takes can be matched to frames. */
class send_batch {
  public:
    /// What a frame is, for the bookkeeping done once the transport took it.
    enum class frame_kind : std::uint8_t {
        keepalive,    ///< NOP
        refusal_fin,  ///< FIN answering a refused SYN (no stream record)
        syn,
        update,
        fin,
        write_data,  ///< a PSH frame of the stream's current write
    };

    struct frame_record {
        stream_record* stream;  ///< null for frames of no stream (NOP, refusal FIN)
        std::size_t end;        ///< batch offset just past the frame
        std::uint32_t payload;  ///< write_data: payload bytes
        frame_kind kind;
    };

    explicit send_batch(std::size_t arena_bytes) : arena_(arena_bytes) {}

    /// Segments of the batch not yet handed to the transport.
    [[nodiscard]] bool unsent() const noexcept { return segment_head_ < segments_.size(); }
    [[nodiscard]] std::span<std::span<std::byte const> const> unsent_segments() const noexcept {
        return std::span(segments_).subspan(segment_head_);
    }

    /// Starts an empty batch (the previous one must be fully committed or abandoned).
    void clear() noexcept {
        segments_.clear();
        segment_head_ = 0;
        frames_.clear();
        frame_head_ = 0;
        arena_used_ = 0;
        total_ = 0;
        committed_ = 0;
    }

    [[nodiscard]] std::size_t total() const noexcept { return total_; }
    [[nodiscard]] std::size_t arena_room() const noexcept { return arena_.size() - arena_used_; }
    [[nodiscard]] std::size_t segment_count() const noexcept { return segments_.size(); }

    void put_header(frame_header const& h) { rewrite_header(reserve_header(), h); }
    /// Room for a header written later by `rewrite_header` (a PSH whose length is not known
    /// yet); returns where it is.
    std::size_t reserve_header() {
        std::size_t const at = arena_used_;
        add_arena(header_size);
        return at;
    }
    void rewrite_header(std::size_t at, frame_header const& h) noexcept {
        encode_header(h, std::span<std::byte, header_size>(arena_.data() + at, header_size));
    }
    void put_update(window_update const& u) {
        std::size_t const at = arena_used_;
        encode_update(
            u, std::span<std::byte, update_payload_size>(arena_.data() + at, update_payload_size));
        add_arena(update_payload_size);
    }
    /// Copies a small payload into the arena (next to its header: one segment for both).
    void copy_payload(std::span<std::byte const> piece) {
        std::memcpy(arena_.data() + arena_used_, piece.data(), piece.size());
        add_arena(piece.size());
    }
    /// Adds a payload as a view of the writer's buffer.
    void add_view(std::span<std::byte const> piece) {
        segments_.push_back(piece);
        total_ += piece.size();
    }
    /// The frame whose bytes were just added ends here.
    void end_frame(stream_record* s, frame_kind kind, std::size_t payload = 0) {
        frames_.push_back({s, total_, static_cast<std::uint32_t>(payload), kind});
    }

    /** The transport took `n` more bytes: advances the segments and calls `on_sent` with the
        record of every frame now entirely handed over, in order. */
    template <class OnSent>
    void commit(std::size_t n, OnSent&& on_sent) {
        committed_ += n;
        for (std::size_t left = n; left > 0 && segment_head_ < segments_.size();) {
            auto& seg = segments_[segment_head_];
            if (left >= seg.size()) {
                left -= seg.size();
                ++segment_head_;
            } else {
                seg = seg.subspan(left);
                left = 0;
            }
        }
        while (frame_head_ < frames_.size() && frames_[frame_head_].end <= committed_) {
            frame_record const f = frames_[frame_head_++];
            on_sent(f);
        }
    }

  private:
    // Appends the arena's next n bytes as a segment, merged with the previous one when
    // contiguous.
    void add_arena(std::size_t n) {
        std::byte const* p = arena_.data() + arena_used_;
        if (!segments_.empty() && segments_.back().data() + segments_.back().size() == p) {
            segments_.back() = {segments_.back().data(), segments_.back().size() + n};
        } else {
            segments_.emplace_back(p, n);
        }
        arena_used_ += n;
        total_ += n;
    }

    std::vector<std::byte> arena_;
    std::size_t arena_used_ = 0;
    std::vector<std::span<std::byte const>> segments_;
    std::size_t segment_head_ = 0;
    std::vector<frame_record> frames_;
    std::size_t frame_head_ = 0;
    std::size_t total_ = 0;
    std::size_t committed_ = 0;
};

}  // namespace smux::core::detail

#endif
