#ifndef SMUX_CORE_RX_BUFFER_HPP
#define SMUX_CORE_RX_BUFFER_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "smux/core/export.hpp"

namespace smux::core {

/** A block of received bytes shared by the views that point into it.

    The transport reads into one large block; the session keeps views into it for every stream
    payload instead of copying (the only copies are kernel to block and block to the reader).
    The reference count is not atomic: a block belongs to one session, which runs on one
    strand.
*/
class rx_buffer {
  public:
    rx_buffer(rx_buffer const&) = delete;
    rx_buffer& operator=(rx_buffer const&) = delete;

    /// The first byte of the block (its storage follows the header in one allocation).
    [[nodiscard]] std::byte* data() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
    /// The first byte of the block.
    [[nodiscard]] std::byte const* data() const noexcept {
        return reinterpret_cast<std::byte const*>(this + 1);
    }
    /// Bytes the block can hold.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// Bytes filled so far (by the transport, or by the session appending small payloads).
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Records that the first `n` bytes are filled.
    void set_size(std::size_t n) noexcept { size_ = n; }
    /// The room after the filled bytes.
    [[nodiscard]] std::span<std::byte> unused() noexcept {
        return {data() + size_, capacity_ - size_};
    }

    /// Handles (`rx_buffer_ptr`) that keep the block alive.
    [[nodiscard]] std::uint32_t use_count() const noexcept { return refs_; }

    /// Number of stream queues' views that keep this block alive (memory the peer pins).
    std::uint32_t pins = 0;

  private:
    friend class rx_buffer_ptr;
    explicit rx_buffer(std::size_t capacity) noexcept : capacity_(capacity) {}

    std::size_t capacity_;
    std::size_t size_ = 0;
    std::uint32_t refs_ = 1;
};

/// Owning, copyable handle of an `rx_buffer` (intrusive reference count).
class SMUX_CORE_EXPORT rx_buffer_ptr {
  public:
    rx_buffer_ptr() noexcept = default;
    /// Shares the block of `o`.
    rx_buffer_ptr(rx_buffer_ptr const& o) noexcept : p_(o.p_) {
        if (p_ != nullptr) {
            ++p_->refs_;
        }
    }
    /// Takes over the block of `o`, which becomes empty.
    rx_buffer_ptr(rx_buffer_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    /// Shares (or takes over) the block of `o`, releasing the one held before.
    rx_buffer_ptr& operator=(rx_buffer_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~rx_buffer_ptr() { reset(); }

    /// Allocates a block with room for `capacity` bytes.
    [[nodiscard]] static rx_buffer_ptr allocate(std::size_t capacity);

    /// Releases the block (freed with its last handle); the handle becomes empty.
    void reset() noexcept;

    /// The block, or null.
    [[nodiscard]] rx_buffer* get() const noexcept { return p_; }
    /// The block; the handle must not be empty.
    rx_buffer* operator->() const noexcept { return p_; }
    /// The block; the handle must not be empty.
    rx_buffer& operator*() const noexcept { return *p_; }
    /// True when the handle holds a block.
    explicit operator bool() const noexcept { return p_ != nullptr; }

  private:
    explicit rx_buffer_ptr(rx_buffer* p) noexcept : p_(p) {}
    rx_buffer* p_ = nullptr;
};

/// A view of bytes inside an `rx_buffer` that keeps the block alive.
struct rx_chunk {
    /// the block the bytes are in
    rx_buffer_ptr buffer;
    /// where the bytes start in the block
    std::uint32_t offset = 0;
    /// how many bytes
    std::uint32_t length = 0;
};

}  // namespace smux::core

#endif
