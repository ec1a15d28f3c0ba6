#include "transport.hpp"

#include <asio/error.hpp>
#include <smux/error.hpp>

#include "kcp_transport.hpp"

namespace smux_tunnel {

namespace {

[[noreturn]] void not_implemented(transport_kind t) {
    throw usage_error(std::string("--transport ") + transport_name(t) + " is not implemented yet");
}

}  // namespace

std::unique_ptr<dialer> make_dialer(asio::any_io_executor ex, tunnel_options const& o,
                                    logger& log) {
    if (o.transport != transport_kind::kcp) {
        not_implemented(o.transport);
    }
    return make_kcp_dialer(std::move(ex), o, log);
}

asio::awaitable<std::unique_ptr<session_acceptor>> make_session_acceptor(tunnel_options const& o,
                                                                         logger& log) {
    if (o.transport != transport_kind::kcp) {
        not_implemented(o.transport);
    }
    return make_kcp_acceptor(o, log);
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
    if (ec == smux::error::keepalive_timeout) {
        return "keep-alive timeout: no frame from the peer for 30 s (the peer went away, or "
               "--smuxver, --nocomp or --key differ)";
    }
    // A version byte, a frame or a snappy chunk that makes no sense: the two ends were most
    // likely set up differently.
    return ec.message() + " (do --smuxver, --nocomp, --key and --crypt match the peer's?)";
}

}  // namespace smux_tunnel
