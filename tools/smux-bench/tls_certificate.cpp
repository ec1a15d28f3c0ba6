#include "tls_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

namespace smux_bench {

namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;

void bio_free(BIO* b) {
    BIO_free(b);
}
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, bio_free>>;

void check(bool ok, char const* what) {
    if (!ok) {
        throw std::runtime_error(std::string("TLS certificate: ") + what + " failed");
    }
}

constexpr long one_hour_s = 3600;
constexpr long thirty_days_s = 30L * 24 * one_hour_s;

x509_ptr self_signed(EVP_PKEY* key) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial number");
    // Starts an hour back, so a clock that differs a little between peers does not matter.
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -one_hour_s) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), thirty_days_s) != nullptr, "notAfter");
    X509_NAME* name = X509_get_subject_name(cert.get());
    auto const* cn = reinterpret_cast<unsigned char const*>("smux-bench");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1, "subject");
    check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
    check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

template <class Write>
std::string to_pem(Write write) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr, "BIO_new");
    check(write(bio.get()) == 1, "PEM write");
    char* data = nullptr;
    long const n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

pem_identity make_self_signed_identity() {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(key != nullptr, "EC P-256 key generation");
    auto const cert = self_signed(key.get());
    pem_identity out;
    out.key = to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    out.certificate = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    return out;
}

}  // namespace smux_bench
