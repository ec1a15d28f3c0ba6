#ifndef SMUX_TOOLS_TUNNEL_KCP_TRANSPORT_HPP
#define SMUX_TOOLS_TUNNEL_KCP_TRANSPORT_HPP

// kcptun's carrier: smux over KCP over UDP, under kcptun's snappy framing unless --nocomp.

#include <memory>

#include "transport.hpp"

namespace smux_tunnel {

/// One new KCP conversation (own UDP socket, random conv) per dial, as kcptun's client.
[[nodiscard]] std::unique_ptr<dialer> make_kcp_dialer(asio::any_io_executor ex,
                                                      tunnel_options const& o, logger& log);

/// A KCP listener on `o.listen`; it also logs datagrams that fail the checksum (a client
/// with another key or cipher, which kcptun drops without a word).
/// @throws std::system_error when no address of `o.listen` can be bound.
[[nodiscard]] asio::awaitable<std::unique_ptr<session_acceptor>> make_kcp_acceptor(
    tunnel_options const& o, logger& log);

}  // namespace smux_tunnel

#endif
