#ifndef SMUX_SRC_CORE_RECEIVE_MEMORY_HPP
#define SMUX_SRC_CORE_RECEIVE_MEMORY_HPP

#include <cstddef>

#include "smux/core/rx_buffer.hpp"

namespace smux::core::detail {

/** What received payload costs the session: the bytes buffered and not yet read (Go's token
    bucket, counted the other way round) and the receive blocks they pin. Reading pauses while
    either is over its limit. */
class receive_memory {
  public:
    receive_memory(std::size_t max_buffered, std::size_t max_pinned) noexcept
        : max_buffered_(max_buffered), max_pinned_(max_pinned) {}

    void buffered(std::size_t n) noexcept { buffered_ += n; }
    void released(std::size_t n) noexcept { buffered_ -= n; }

    /// A chunk of `b` is kept: the whole block counts once, however many chunks share it.
    void pin(rx_buffer& b) noexcept {
        if (b.pins++ == 0) {
            pinned_ += b.capacity();
        }
    }
    void unpin(rx_buffer& b) noexcept {
        if (--b.pins == 0) {
            pinned_ -= b.capacity();
        }
    }

    [[nodiscard]] bool over_limit() const noexcept {
        return buffered_ >= max_buffered_ || pinned_ > max_pinned_;
    }
    [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffered_; }
    [[nodiscard]] std::size_t pinned_bytes() const noexcept { return pinned_; }

  private:
    std::size_t max_buffered_;
    std::size_t max_pinned_;
    std::size_t buffered_ = 0;
    std::size_t pinned_ = 0;
};

}  // namespace smux::core::detail

#endif
