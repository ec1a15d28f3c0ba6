#ifndef SMUX_UDP_RELAY_OPTIONS_HPP
#define SMUX_UDP_RELAY_OPTIONS_HPP

#include <asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "impairment.hpp"

namespace udp_relay {

/// Directions: 0 = up (client to upstream), 1 = down (upstream to client).
inline constexpr int up = 0;
inline constexpr int down = 1;

struct relay_options {
    asio::ip::udp::endpoint listen;
    asio::ip::udp::endpoint upstream;
    impairment dir[2];
    std::uint64_t seed = 1;
    std::size_t queue_limit = 10'000;    ///< datagrams held for delay, both directions
    std::size_t queue_bytes = 16 << 20;  ///< bytes held for delay, both directions
    std::size_t max_clients = 256;       ///< client endpoints given an upstream socket
    /// SO_RCVBUF and SO_SNDBUF of every socket; 0 keeps the system's. A relay sharing a CPU
    /// with a peer may be scheduled late: the default ~208 KiB then overflows under a burst.
    int socket_buffer = 0;
};

/// Parses the command line; on --help or an error prints to stdout/stderr and returns
/// nothing, with the exit code in `exit_code`.
std::optional<relay_options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace udp_relay

#endif
