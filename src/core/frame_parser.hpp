#ifndef SMUX_SRC_CORE_FRAME_PARSER_HPP
#define SMUX_SRC_CORE_FRAME_PARSER_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "smux/core/frame.hpp"

namespace smux::core::detail {

/** Where the inbound byte stream stands between and inside frames: which part comes next, the
    bytes of a header or UPD payload gathered so far (frames may be split anywhere), the
    frame being parsed and how much of its PSH payload is still to come. */
class frame_parser {
  public:
    enum class part : std::uint8_t { header, payload, update };

    [[nodiscard]] part next() const noexcept { return next_; }
    /// No byte of the next frame was taken yet.
    [[nodiscard]] bool between_frames() const noexcept {
        return next_ == part::header && staged_ == 0;
    }

    /** Gathers the bytes of the fixed-size part that comes next (a header or a UPD payload)
        from `in[pos, total)`, advancing `pos`; true once all of it is there (then readable
        through `staged()` until the next call). */
    bool gather(std::byte const* in, std::size_t& pos, std::size_t total) noexcept {
        std::size_t const need = next_ == part::header ? header_size : update_payload_size;
        std::size_t const take = std::min(need - staged_, total - pos);
        std::memcpy(staging_.data() + staged_, in + pos, take);
        staged_ += take;
        pos += take;
        if (staged_ < need) {
            return false;
        }
        staged_ = 0;
        return true;
    }
    [[nodiscard]] std::array<std::byte, header_size> const& staged() const noexcept {
        return staging_;
    }

    /// A complete header was gathered: it becomes the current frame; a header comes next.
    frame_header const& start_frame() noexcept {
        current_ = decode_header(staging_);
        next_ = part::header;
        return current_;
    }
    [[nodiscard]] frame_header const& current() const noexcept { return current_; }

    /// The current frame's payload comes next: PSH bytes (none: the next header) or a UPD.
    void expect_payload() noexcept {
        payload_left_ = current_.length;
        next_ = payload_left_ > 0 ? part::payload : part::header;
    }
    void expect_update() noexcept { next_ = part::update; }
    /// The UPD payload was gathered: a header comes next.
    void end_update() noexcept { next_ = part::header; }

    /// No byte of the current PSH payload was taken yet.
    [[nodiscard]] bool payload_untouched() const noexcept {
        return payload_left_ == current_.length;
    }

    /// Of the PSH payload still to come, how much `available` bytes cover; consumes it.
    std::size_t take_payload(std::size_t available) noexcept {
        std::size_t const n = std::min(payload_left_, available);
        payload_left_ -= n;
        if (payload_left_ == 0) {
            next_ = part::header;
        }
        return n;
    }

  private:
    part next_ = part::header;
    std::array<std::byte, header_size> staging_{};  ///< a header, or a UPD payload (8 bytes)
    std::size_t staged_ = 0;
    frame_header current_;
    std::size_t payload_left_ = 0;
};

static_assert(update_payload_size <= header_size);

}  // namespace smux::core::detail

#endif
