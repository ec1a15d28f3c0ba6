#ifndef SMUX_TOOLS_TUNNEL_TLS_TRANSPORT_HPP
#define SMUX_TOOLS_TUNNEL_TLS_TRANSPORT_HPP

// --transport tls: each session over one TLS connection (asio::ssl over TCP), certificates
// verified by default, under kcptun's snappy framing unless --nocomp.

#include <memory>

#include "transport.hpp"

namespace smux_tunnel {

/// One new TLS connection to `o.remoteaddr` per dial; the server's certificate must be
/// signed by --tls-ca (else a CA of the system's store) and name the host of --remoteaddr.
/// @throws std::system_error when a TLS file cannot be loaded.
[[nodiscard]] std::unique_ptr<dialer> make_tls_dialer(asio::any_io_executor ex,
                                                      tunnel_options const& o, logger& log);

/// A TLS listener on `o.listen` presenting --tls-cert; with --tls-ca, clients must present
/// a certificate signed by it. @throws std::system_error when it cannot bind or load a file.
[[nodiscard]] asio::awaitable<std::unique_ptr<session_acceptor>> make_tls_acceptor(
    tunnel_options const& o, logger& log);

}  // namespace smux_tunnel

#endif
