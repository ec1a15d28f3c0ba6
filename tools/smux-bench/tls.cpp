#include "tls.hpp"

#include <openssl/ssl.h>

#include <asio/buffer.hpp>

#include "tls_certificate.hpp"

namespace smux_bench {

namespace {

/// TLS 1.3 only, with one cipher suite: both tools then run the same cipher (see tls.hpp).
void restrict_to_tls13_aes128(asio::ssl::context& ctx) {
    SSL_CTX* native = ctx.native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256") != 1) {
        throw std::system_error(asio::error::invalid_argument, "TLS 1.3 settings");
    }
}

}  // namespace

asio::ssl::context make_server_tls_context() {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    restrict_to_tls13_aes128(ctx);
    // No session tickets: a client that closes without reading them would make the server's
    // kernel answer with a reset, and Go's server is set up the same way.
    SSL_CTX_set_num_tickets(ctx.native_handle(), 0);
    auto const identity = make_self_signed_identity();
    ctx.use_certificate(asio::buffer(identity.certificate), asio::ssl::context::pem);
    ctx.use_private_key(asio::buffer(identity.key), asio::ssl::context::pem);
    return ctx;
}

asio::ssl::context make_client_tls_context() {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    restrict_to_tls13_aes128(ctx);
    ctx.set_verify_mode(asio::ssl::verify_none);
    return ctx;
}

}  // namespace smux_bench
