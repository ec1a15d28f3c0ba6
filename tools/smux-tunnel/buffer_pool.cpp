#include "buffer_pool.hpp"

namespace smux_tunnel {

buffer_pool::lease buffer_pool::borrow() {
    ++lent_;
    if (free_.empty()) {
        return lease(this, std::make_unique_for_overwrite<std::byte[]>(block_size));
    }
    auto block = std::move(free_.back());
    free_.pop_back();
    return lease(this, std::move(block));
}

void buffer_pool::give_back(std::unique_ptr<std::byte[]> block) {
    --lent_;
    if (free_.size() < keep_) {
        free_.push_back(std::move(block));
    }
}

}  // namespace smux_tunnel
