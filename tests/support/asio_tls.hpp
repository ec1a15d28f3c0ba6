#ifndef SMUX_TESTS_SUPPORT_ASIO_TLS_HPP
#define SMUX_TESTS_SUPPORT_ASIO_TLS_HPP

// A self-signed certificate for "localhost", generated at test time with OpenSSL, and the
// matching server and client TLS contexts (the client trusts exactly that certificate).

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <memory>
#include <stdexcept>
#include <string>

namespace smux_test {

struct tls_identity {
    std::string certificate_pem;
    std::string private_key_pem;
};

namespace tls_detail {

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};

inline void check(bool ok, char const* what) {
    if (!ok) {
        throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
    }
}

inline void add_extension(X509* cert, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    int const added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "X509_add_ext");
}

template <class Write>
std::string to_pem(Write&& write) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr, "BIO_new");
    check(write(bio.get()) == 1, "PEM_write");
    char* data = nullptr;
    long const n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace tls_detail

/// A fresh P-256 key and a self-signed certificate (CN and subjectAltName "localhost",
/// valid from an hour ago for a day).
inline tls_identity make_self_signed_identity() {
    using namespace tls_detail;
    std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    std::unique_ptr<X509, x509_free> cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "ASN1_INTEGER_set");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<unsigned char const*>("localhost"), -1, -1,
                                     0) == 1,
          "X509_NAME_add_entry_by_txt");
    check(X509_set_issuer_name(cert.get(), name) == 1, "X509_set_issuer_name");
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

    tls_identity id;
    id.certificate_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    id.private_key_pem = to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    return id;
}

inline asio::ssl::context make_server_context(tls_identity const& id) {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain(asio::buffer(id.certificate_pem));
    ctx.use_private_key(asio::buffer(id.private_key_pem), asio::ssl::context::pem);
    return ctx;
}

/// Trusts only `id`'s certificate and verifies the peer (host name checked per stream).
inline asio::ssl::context make_client_context(tls_identity const& id) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(id.certificate_pem));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    return ctx;
}

}  // namespace smux_test

#endif
