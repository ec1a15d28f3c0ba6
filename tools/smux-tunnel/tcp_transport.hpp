#ifndef SMUX_TOOLS_TUNNEL_TCP_TRANSPORT_HPP
#define SMUX_TOOLS_TUNNEL_TCP_TRANSPORT_HPP

// --transport tcp: each session straight over one TCP connection (TCP retransmits and orders;
// the KCP settings do not apply), under kcptun's snappy framing unless --nocomp.

#include <memory>

#include "transport.hpp"

namespace smux_tunnel {

/// One new TCP connection to `o.remoteaddr` per dial.
[[nodiscard]] std::unique_ptr<dialer> make_tcp_dialer(asio::any_io_executor ex,
                                                      tunnel_options const& o, logger& log);

/// A TCP listener on `o.listen`. @throws std::system_error when it cannot bind.
[[nodiscard]] asio::awaitable<std::unique_ptr<session_acceptor>> make_tcp_acceptor(
    tunnel_options const& o, logger& log);

}  // namespace smux_tunnel

#endif
