#include "transport.hpp"

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>
#include <smux/error.hpp>

#include "kcp_transport.hpp"
#include "tcp_transport.hpp"
#include "tls_transport.hpp"

namespace smux_tunnel {

std::unique_ptr<dialer> make_dialer(asio::any_io_executor ex, tunnel_options const& o,
                                    logger& log) {
    switch (o.transport) {
        case transport_kind::tcp:
            return make_tcp_dialer(std::move(ex), o, log);
        case transport_kind::tls:
            return make_tls_dialer(std::move(ex), o, log);
        case transport_kind::kcp:
            break;
    }
    return make_kcp_dialer(std::move(ex), o, log);
}

asio::awaitable<std::unique_ptr<session_acceptor>> make_session_acceptor(tunnel_options const& o,
                                                                         logger& log) {
    switch (o.transport) {
        case transport_kind::tcp:
            co_return co_await make_tcp_acceptor(o, log);
        case transport_kind::tls:
            co_return co_await make_tls_acceptor(o, log);
        case transport_kind::kcp:
            break;
    }
    co_return co_await make_kcp_acceptor(o, log);
}

bool closed_here(smux::error_code const& ec) {
    // operation_aborted: the carrier was closed under the session (a listener closing).
    return ec == smux::error::session_closed || ec == asio::error::operation_aborted;
}

std::string describe_end(smux::error_code const& ec) {
    if (closed_here(ec)) {
        return "closed";
    }
    if (ec == smux::error::connection_closed) {
        return "closed by the peer";
    }
    if (ec == asio::ssl::error::stream_truncated) {
        // A compressed session over TLS closes its socket without close_notify.
        return "closed by the peer (without TLS close_notify)";
    }
    if (ec.category() == asio::error::get_ssl_category()) {
        // With TLS 1.3 a server refuses a client's certificate after the client's handshake.
        return "TLS: " + ec.message() +
               " (do --tls-cert and --tls-key match what the peer's --tls-ca expects?)";
    }
    if (ec == smux::error::keepalive_timeout) {
        return "keep-alive timeout: no frame from the peer for 30 s (the peer went away, or "
               "--smuxver, --nocomp or --key differ)";
    }
    // A version byte, a frame or a snappy chunk that makes no sense: the two ends were most
    // likely set up differently.
    return ec.message() +
           " (do --transport, --smuxver, --nocomp, --key and --crypt match the peer's?)";
}

}  // namespace smux_tunnel
