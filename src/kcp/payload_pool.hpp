#ifndef SMUX_SRC_KCP_PAYLOAD_POOL_HPP
#define SMUX_SRC_KCP_PAYLOAD_POOL_HPP

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "smux/kcp/engine.hpp"

namespace smux::kcp::detail {

/// One segment's payload: room for the largest a 1500-byte datagram can carry.
using payload_block = std::array<std::byte, max_segment_payload>;
using payload_ptr = std::unique_ptr<payload_block>;

/** Recycles payload blocks so that a busy engine allocates none per segment. It keeps every
    block returned to it (so it never holds more than the engine's peak, which the windows
    bound) until `trim`, which the engine calls when idle. */
class payload_pool {
  public:
    [[nodiscard]] payload_ptr acquire() {
        if (free_.empty()) {
            return std::make_unique<payload_block>();
        }
        payload_ptr b = std::move(free_.back());
        free_.pop_back();
        return b;
    }

    void release(payload_ptr b) {
        if (b) {
            free_.push_back(std::move(b));
        }
    }

    void trim(std::size_t keep) {
        if (free_.size() > keep) {
            free_.resize(keep);
            free_.shrink_to_fit();
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return free_.size(); }

  private:
    std::vector<payload_ptr> free_;
};

}  // namespace smux::kcp::detail

#endif
