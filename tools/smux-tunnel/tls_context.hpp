#ifndef SMUX_TOOLS_TUNNEL_TLS_CONTEXT_HPP
#define SMUX_TOOLS_TUNNEL_TLS_CONTEXT_HPP

// The TLS side of --transport tls, with OpenSSL under asio::ssl: the role's context from
// --tls-cert, --tls-key and --tls-ca, the client's check of the server's name, and a
// handshake failure said in words (OpenSSL's verify error when a certificate was refused).

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <string>

#include "options.hpp"

namespace smux_tunnel {

using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

/** TLS 1.2 or later. A client verifies the server against --tls-ca (else the system's CAs)
    and presents --tls-cert/--tls-key if given; a server presents --tls-cert/--tls-key and,
    with --tls-ca, requires a client certificate signed by it.
    @throws std::system_error naming the flag and file that could not be loaded. */
[[nodiscard]] asio::ssl::context make_tls_context(tunnel_options const& o);

/// Makes the client's handshake check that the server's certificate names `host` (a DNS
/// name, or an IP address), and sends a DNS name as SNI.
void expect_server_name(tls_stream& s, std::string const& host);

/// Why the handshake of `s` failed with `ec`: the TLS error, then OpenSSL's verify error
/// ("unable to get local issuer certificate", "hostname mismatch", ...) if a certificate
/// was refused.
[[nodiscard]] std::string describe_handshake_failure(tls_stream& s, asio::error_code const& ec);

}  // namespace smux_tunnel

#endif
