#ifndef SMUX_SSL_HPP
#define SMUX_SSL_HPP

// Sessions over TLS. Separate from smux.hpp so that only users of TLS need OpenSSL.
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>

#include "smux/session.hpp"

namespace smux {

/** A session over a TLS stream. Do the TLS handshake first, then hand the stream over:

    @code
    asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(socket), ssl_context);
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    smux::ssl_session<> session(smux::role::client, std::move(tls));
    @endcode

    The other direction works too: `asio::ssl::stream<smux::stream>` runs TLS inside one
    stream. */
template <class Socket = net::ip::tcp::socket>
using ssl_session = basic_session<net::ssl::stream<Socket>>;

}  // namespace smux

#endif
