#include "tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <system_error>

namespace smux_tunnel {

namespace {

/// Runs `load(ec)` for `flag`'s `path`; a failure names both.
template <class Load>
void load_file(char const* flag, std::string const& path, Load load) {
    asio::error_code ec;
    load(ec);
    if (ec) {
        throw std::system_error(ec, std::string(flag) + " " + path);
    }
}

void add_own_certificate(asio::ssl::context& ctx, tunnel_options const& o) {
    load_file("--tls-cert", o.tls_cert,
              [&](asio::error_code& ec) { ctx.use_certificate_chain_file(o.tls_cert, ec); });
    load_file("--tls-key", o.tls_key, [&](asio::error_code& ec) {
        ctx.use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
    });
}

void add_trusted_cas(asio::ssl::context& ctx, tunnel_options const& o) {
    if (o.tls_ca.empty()) {
        load_file("the system's CA store", "",
                  [&](asio::error_code& ec) { ctx.set_default_verify_paths(ec); });
        return;
    }
    load_file("--tls-ca", o.tls_ca,
              [&](asio::error_code& ec) { ctx.load_verify_file(o.tls_ca, ec); });
}

}  // namespace

asio::ssl::context make_tls_context(tunnel_options const& o) {
    bool const client = o.role == tunnel_role::client;
    asio::ssl::context ctx(client ? asio::ssl::context::tls_client
                                  : asio::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    if (!o.tls_cert.empty()) {
        add_own_certificate(ctx, o);
    }
    if (client) {
        add_trusted_cas(ctx, o);
        ctx.set_verify_mode(asio::ssl::verify_peer);
    } else if (!o.tls_ca.empty()) {
        add_trusted_cas(ctx, o);
        ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

void expect_server_name(tls_stream& s, std::string const& host) {
    SSL* const ssl = s.native_handle();
    asio::error_code not_an_address;
    (void)asio::ip::make_address(host, not_an_address);
    if (!not_an_address) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
        return;
    }
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
}

std::string describe_handshake_failure(tls_stream& s, asio::error_code const& ec) {
    std::string out = ec.message();
    long const verify = SSL_get_verify_result(s.native_handle());
    if (verify != X509_V_OK) {
        out += std::string(": ") + X509_verify_cert_error_string(verify);
    }
    return out;
}

}  // namespace smux_tunnel
