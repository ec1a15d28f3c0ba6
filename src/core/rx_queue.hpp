#ifndef SMUX_SRC_CORE_RX_QUEUE_HPP
#define SMUX_SRC_CORE_RX_QUEUE_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "smux/core/rx_buffer.hpp"

namespace smux::core::detail {

/** A stream's received chunks, oldest first. The usual case, one message waiting, is held in
    place: a stream that receives a small message and reads it allocates nothing here, so many
    streams that each get a few bytes leave no freed arrays behind between their records. A
    second chunk moves the queue to a heap array until the queue drains. */
class rx_queue {
  public:
    rx_queue() noexcept {}  // NOLINT(modernize-use-equals-default): the union needs it
    rx_queue(rx_queue const&) = delete;
    rx_queue& operator=(rx_queue const&) = delete;
    ~rx_queue() { clear(); }

    [[nodiscard]] bool empty() const noexcept { return head_ == end(); }

    /// The oldest chunk not yet popped. Precondition: !empty().
    [[nodiscard]] rx_chunk& front() noexcept { return at(head_); }

    /// The newest chunk, or null when nothing is waiting.
    [[nodiscard]] rx_chunk* live_back() noexcept { return empty() ? nullptr : &at(end() - 1); }

    /// Drops the oldest chunk (and its block reference). Precondition: !empty().
    void pop_front() noexcept {
        front().buffer.reset();
        ++head_;
    }

    void push_back(rx_chunk&& c) {
        if (empty()) {
            clear();
        }
        if (state_ == inline_empty) {
            ::new (static_cast<void*>(&one_)) rx_chunk(std::move(c));
            state_ = inline_one;
        } else if (state_ == inline_one) {
            spill(std::move(c));
        } else {
            many_->push_back(std::move(c));
        }
    }

    /// Calls `f(chunk)` for each chunk not yet popped, oldest first.
    template <class F>
    void for_each(F&& f) noexcept {
        for (std::uint32_t i = head_; i != end(); ++i) {
            f(at(i));
        }
    }

    /// Forgets every chunk and frees the heap array, if any.
    void clear() noexcept {
        if (state_ == inline_one) {
            one_.~rx_chunk();
        } else if (state_ == spilled) {
            delete many_;  // NOLINT(cppcoreguidelines-owning-memory): the union's owner
        }
        state_ = inline_empty;
        head_ = 0;
    }

  private:
    enum : std::uint32_t { inline_empty, inline_one, spilled };

    [[nodiscard]] std::uint32_t end() const noexcept {
        return state_ == spilled ? static_cast<std::uint32_t>(many_->size()) : state_;
    }
    [[nodiscard]] rx_chunk& at(std::uint32_t i) noexcept {
        return state_ == spilled ? (*many_)[i] : one_;
    }

    void spill(rx_chunk&& c) {
        auto v = std::make_unique<std::vector<rx_chunk>>();
        v->reserve(4);
        v->push_back(std::move(one_));
        v->push_back(std::move(c));
        one_.~rx_chunk();
        many_ = v.release();
        state_ = spilled;
    }

    union {
        rx_chunk one_;                 ///< inline_one: the only chunk
        std::vector<rx_chunk>* many_;  ///< spilled: every chunk, popped ones first
    };
    std::uint32_t head_ = 0;  ///< first chunk not yet popped
    std::uint32_t state_ = inline_empty;
};

}  // namespace smux::core::detail

#endif
