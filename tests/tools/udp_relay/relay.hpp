#ifndef SMUX_UDP_RELAY_RELAY_HPP
#define SMUX_UDP_RELAY_RELAY_HPP

// The relay: one listening socket for the clients, one upstream socket per client endpoint
// (so the upstream server sees a distinct source port per client, as kcp-go's listener
// demultiplexes by address), each direction through its own impairer and the shared delay
// queue. Single-threaded: everything runs on one io_context.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "delay_queue.hpp"
#include "impairment.hpp"
#include "options.hpp"

namespace udp_relay {

/// One direction's counters.
struct direction_stats {
    std::uint64_t in = 0;           ///< datagrams received
    std::uint64_t out = 0;          ///< datagrams sent (duplicates included)
    std::uint64_t dropped = 0;      ///< by --loss
    std::uint64_t duplicated = 0;   ///< extra copies made by --duplicate
    std::uint64_t reordered = 0;    ///< held back by --reorder
    std::uint64_t overflow = 0;     ///< copies refused by the full delay queue
    std::uint64_t send_errors = 0;  ///< send failed (socket buffer full, unreachable, ...)
};

class relay {
  public:
    /// Opens the sockets; throws asio::system_error when it cannot.
    relay(asio::io_context& ioc, relay_options const& opts);

    [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
    void start();
    /// Handles every datagram already waiting in the sockets, so a stats line taken next
    /// counts all a peer sent before signalling.
    void drain();
    /// The stats as one JSON object.
    [[nodiscard]] std::string stats_json(bool final) const;

  private:
    struct client {
        asio::ip::udp::endpoint peer;
        asio::ip::udp::socket upstream;
    };

    void receive_from_clients();
    void receive_from_upstream(client& c);
    void read_clients();
    void read_upstream(client& c);
    void from_client(asio::ip::udp::endpoint const& peer, std::span<std::byte const> bytes);
    void from_upstream(client& c, asio::ip::udp::endpoint const& from,
                       std::span<std::byte const> bytes);
    void forward(int direction, asio::ip::udp::socket& socket, asio::ip::udp::endpoint const& to,
                 std::span<std::byte const> bytes);
    void send_now(int direction, asio::ip::udp::socket& socket, asio::ip::udp::endpoint const& to,
                  std::span<std::byte const> bytes);
    client* client_for(asio::ip::udp::endpoint const& peer);

    asio::io_context& ioc_;
    relay_options opts_;
    asio::ip::udp::socket listen_;
    std::vector<std::byte> buf_;  ///< every read lands here and is handled at once
    impairer impair_[2];
    direction_stats stats_[2];
    delay_queue queue_;
    std::map<asio::ip::udp::endpoint, std::unique_ptr<client>> clients_;
    std::uint64_t clients_refused_ = 0;
};

}  // namespace udp_relay

#endif
