#include "smux/core/rx_buffer.hpp"

#include <new>

namespace smux::core {

// The block header and its bytes share one allocation, so a view costs one pointer.
rx_buffer_ptr rx_buffer_ptr::allocate(std::size_t capacity) {
    void* raw = ::operator new(sizeof(rx_buffer) + capacity);
    return rx_buffer_ptr(::new (raw) rx_buffer(capacity));
}

void rx_buffer_ptr::reset() noexcept {
    if (p_ != nullptr && --p_->refs_ == 0) {
        p_->~rx_buffer();
        ::operator delete(static_cast<void*>(p_));
    }
    p_ = nullptr;
}

}  // namespace smux::core
