#ifndef SMUX_UDP_RELAY_DELAY_QUEUE_HPP
#define SMUX_UDP_RELAY_DELAY_QUEUE_HPP

// Datagrams waiting for their due time, released by one timer. Bounded in datagrams and in
// bytes: a push beyond either limit is refused and the caller counts the drop.

#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "impairment.hpp"

namespace udp_relay {

/// A datagram on its way: where it goes, through which socket.
struct held_datagram {
    int direction = 0;  ///< index into the relay's per-direction counters
    asio::ip::udp::socket* socket = nullptr;
    asio::ip::udp::endpoint to;
    std::vector<std::byte> bytes;
};

class delay_queue {
  public:
    using deliver_fn = std::function<void(held_datagram&)>;

    delay_queue(asio::io_context& ioc, std::size_t max_datagrams, std::size_t max_bytes,
                deliver_fn deliver);

    /// Queues `d` until `at`; false (nothing queued) when a limit would be passed.
    bool push(clock::time_point at, held_datagram d);

    /// Datagrams held now for `direction`.
    [[nodiscard]] std::size_t held(int direction) const noexcept;

  private:
    void arm();
    void release_due();

    asio::steady_timer timer_;
    std::size_t max_datagrams_;
    std::size_t max_bytes_;
    deliver_fn deliver_;
    // A multimap keeps datagrams due at the same time in arrival order.
    std::multimap<clock::time_point, held_datagram> queue_;
    std::size_t bytes_ = 0;
    std::size_t held_[2] = {0, 0};
    std::uint64_t generation_ = 0;  ///< ignores the completion of a superseded timer wait
    bool armed_ = false;
    clock::time_point armed_at_{};
};

}  // namespace udp_relay

#endif
