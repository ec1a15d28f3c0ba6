// The wait between sealing and encryption: a CFB chain is serial within a datagram, but the
// chains of different datagrams are independent and run side by side (block_crypt::lanes).

#include "smux/kcp/encrypt_queue.hpp"

#include <algorithm>

#include "smux/kcp/mtu.hpp"

namespace smux::kcp {

encrypt_queue::encrypt_queue(std::size_t lanes) : lanes_(std::max<std::size_t>(lanes, 1)) {}

std::span<std::byte> encrypt_queue::slot(std::size_t i) noexcept {
    return std::span(buffer_).subspan(i * mtu_limit, mtu_limit);
}

void encrypt_queue::push(block_crypt& c, std::span<std::byte const> datagram, datagram_sink out) {
    if (datagram.size() > mtu_limit) {
        drain(c, out);
        std::vector<std::byte> alone(datagram.begin(), datagram.end());
        c.encrypt(alone);
        out(alone);
        return;
    }
    if (buffer_.empty()) {  // on first use: a conversation that never sends holds nothing
        buffer_.resize(lanes_ * mtu_limit);
        queued_.reserve(lanes_);
    }
    auto const s = slot(queued_.size()).first(datagram.size());
    std::copy(datagram.begin(), datagram.end(), s.begin());
    queued_.push_back(s);
    if (queued_.size() == lanes_) {
        drain(c, out);
    }
}

void encrypt_queue::drain(block_crypt& c, datagram_sink out) {
    if (queued_.empty()) {
        return;
    }
    c.encrypt_many(queued_);
    for (std::span<std::byte> d : queued_) {
        out(d);
    }
    queued_.clear();
}

}  // namespace smux::kcp
