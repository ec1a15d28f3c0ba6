#ifndef SMUX_TOOLS_BENCH_TLS_HPP
#define SMUX_TOOLS_BENCH_TLS_HPP

// --tls, beyond the contract: every TCP connection carries TLS (smux sessions over TLS, or raw
// TLS connections), the same way in the C++ and the Go tool, so that both measure the same
// cipher: TLS 1.3 with TLS_AES_128_GCM_SHA256 (Go's first choice on CPUs with AES
// instructions), an ECDSA P-256 certificate made at start, no session tickets, no
// certificate check by the client (the bench measures the transport, not the trust).

#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>
#include <system_error>

#include "net_util.hpp"

namespace smux_bench {

using tls_socket = asio::ssl::stream<tcp::socket>;

/// The server's context, with a new self-signed certificate; throws std::system_error.
[[nodiscard]] asio::ssl::context make_server_tls_context();

/// The client's context; throws std::system_error.
[[nodiscard]] asio::ssl::context make_client_tls_context();

/** "Close a stream" on a raw TLS connection: close(2) without close_notify. A TLS shutdown in
    Asio waits for the peer's close_notify, which the bench protocol does not wait for (both
    tools treat a clean TCP end at a record boundary as end-of-stream, see
    is_end_of_stream). */
inline void close_stream(tls_socket& s) noexcept {
    asio::error_code ignored;
    s.lowest_layer().close(ignored);
}

/// End-of-stream on any bench stream: eof, or a TLS connection the peer closed without
/// close_notify (the C++ tool's close_stream; Go's tls.Conn sends one).
[[nodiscard]] inline bool is_end_of_stream(asio::error_code const& ec) noexcept {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

}  // namespace smux_bench

#endif
