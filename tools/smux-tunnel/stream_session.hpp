#ifndef SMUX_TOOLS_TUNNEL_STREAM_SESSION_HPP
#define SMUX_TOOLS_TUNNEL_STREAM_SESSION_HPP

// A session over a byte-stream carrier (a TCP socket, a TLS stream), under kcptun's snappy
// framing unless --nocomp: kcptun compresses whatever carries its sessions, so a config that
// says "nocomp": false means the same on every transport.

#include <memory>
#include <smux/kcp/asio/compressed_stream.hpp>
#include <string>
#include <utility>

#include "session_adapter.hpp"

namespace smux_tunnel {

template <class Next>
[[nodiscard]] std::shared_ptr<mux_session> make_stream_session(smux::role r, Next carrier,
                                                               smux::config const& cfg,
                                                               std::string name, bool compress) {
    if (compress) {
        using compressed = smux::kcp::compressed_stream<Next>;
        return std::make_shared<session_adapter<compressed>>(r, compressed(std::move(carrier)), cfg,
                                                             std::move(name));
    }
    return std::make_shared<session_adapter<Next>>(r, std::move(carrier), cfg, std::move(name));
}

}  // namespace smux_tunnel

#endif
