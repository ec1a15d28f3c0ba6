#include "delay_queue.hpp"

#include <utility>

namespace udp_relay {

delay_queue::delay_queue(asio::io_context& ioc, std::size_t max_datagrams, std::size_t max_bytes,
                         deliver_fn deliver)
    : timer_(ioc),
      max_datagrams_(max_datagrams),
      max_bytes_(max_bytes),
      deliver_(std::move(deliver)) {}

bool delay_queue::push(clock::time_point at, held_datagram d) {
    if (queue_.size() >= max_datagrams_ || bytes_ + d.bytes.size() > max_bytes_) {
        return false;
    }
    bytes_ += d.bytes.size();
    ++held_[d.direction];
    queue_.emplace(at, std::move(d));
    arm();
    return true;
}

std::size_t delay_queue::held(int direction) const noexcept {
    return held_[direction];
}

void delay_queue::arm() {
    if (queue_.empty()) {
        return;
    }
    auto const first = queue_.begin()->first;
    if (armed_ && armed_at_ <= first) {
        return;  // the running wait ends early enough
    }
    armed_ = true;
    armed_at_ = first;
    auto const gen = ++generation_;
    timer_.expires_at(first);
    timer_.async_wait([this, gen](asio::error_code ec) {
        if (ec || gen != generation_) {
            return;
        }
        armed_ = false;
        release_due();
        arm();
    });
}

void delay_queue::release_due() {
    auto const now = clock::now();
    while (!queue_.empty() && queue_.begin()->first <= now) {
        auto node = queue_.extract(queue_.begin());
        bytes_ -= node.mapped().bytes.size();
        --held_[node.mapped().direction];
        deliver_(node.mapped());
    }
}

}  // namespace udp_relay
