#ifndef SMUX_EXAMPLES_TLS_ECHO_SELF_SIGNED_HPP
#define SMUX_EXAMPLES_TLS_ECHO_SELF_SIGNED_HPP

// A throwaway TLS identity for the example: a fresh P-256 key and a self-signed certificate
// for "localhost", made with OpenSSL at start-up, so the example needs no files. A real
// server loads its certificate chain and key instead (ssl::context::use_certificate_chain_file
// and use_private_key_file), and a real client trusts its usual authorities.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace tls_example {

struct identity {
    std::string certificate_pem;
    std::string private_key_pem;
};

namespace detail {

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
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(bio != nullptr && write(bio.get()) == 1, "PEM_write");
    char* data = nullptr;
    long const n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace detail

/// A key and a certificate for "localhost", valid from an hour ago for a day.
inline identity make_self_signed() {
    using detail::check;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    check(key != nullptr && cert != nullptr, "key or certificate allocation");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<unsigned char const*>("localhost"), -1, -1,
                                     0) == 1,
          "subject");
    check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
    detail::add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    detail::add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

    identity id;
    id.certificate_pem = detail::to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    id.private_key_pem = detail::to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    return id;
}

}  // namespace tls_example

#endif
