// kcp-go's block ciphers in CFB mode through OpenSSL 3. Blowfish and CAST5 live in OpenSSL's
// legacy provider: the ciphers are fetched from a library context of this module's own that
// loads the default and legacy providers, so the process's default context is left alone.

#include "cfb_crypt.hpp"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <array>
#include <climits>
#include <string>

namespace smux::kcp::detail {

namespace {

/// kcp-go's initialVector; 8-byte ciphers use its first 8 bytes.
constexpr std::array<unsigned char, 16> initial_vector{
    0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac, 0x1b, 0x01, 0xa4, 0x15, 0xf2, 0xc1, 0xfc, 0x78, 0xe6, 0x6b};

OSSL_LIB_CTX* cipher_library() {
    static OSSL_LIB_CTX* const ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        if (c == nullptr || OSSL_PROVIDER_load(c, "default") == nullptr) {
            throw std::runtime_error("smux::kcp: OpenSSL's default provider did not load");
        }
        (void)OSSL_PROVIDER_load(c, "legacy");  // missing: Blowfish and CAST5 fail to fetch
        return c;
    }();
    return ctx;
}

struct cipher_free {
    void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
struct context_free {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using context_ptr = std::unique_ptr<EVP_CIPHER_CTX, context_free>;

class cfb_crypt final : public block_crypt {
  public:
    cfb_crypt(cfb_cipher const& c, crypt_key const& key)
        : encryptor_(make_context(c, key, 1)), decryptor_(make_context(c, key, 0)) {}

    void encrypt(std::span<std::byte> datagram) override { run(encryptor_.get(), datagram); }
    void decrypt(std::span<std::byte> datagram) override { run(decryptor_.get(), datagram); }

  private:
    static context_ptr make_context(cfb_cipher const& c, crypt_key const& key, int enc) {
        std::unique_ptr<EVP_CIPHER, cipher_free> cipher(
            EVP_CIPHER_fetch(cipher_library(), c.openssl_name, nullptr));
        context_ptr ctx(EVP_CIPHER_CTX_new());
        auto const* k = reinterpret_cast<unsigned char const*>(key.data());
        bool ok =
            cipher != nullptr && ctx != nullptr &&
            EVP_CipherInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, enc, nullptr) == 1 &&
            EVP_CIPHER_CTX_set_key_length(ctx.get(), static_cast<int>(c.key_bytes)) == 1 &&
            EVP_CipherInit_ex2(ctx.get(), nullptr, k, initial_vector.data(), enc, nullptr) == 1;
        if (!ok) {
            throw unsupported_cipher(std::string("smux::kcp: OpenSSL cannot provide ") +
                                     c.openssl_name +
                                     " (supported here: " + block_crypt::supported_names() + ")");
        }
        return ctx;
    }

    // Every datagram starts again from the constant IV: one CFB chain per datagram.
    static void run(EVP_CIPHER_CTX* ctx, std::span<std::byte> datagram) {
        auto* p = reinterpret_cast<unsigned char*>(datagram.data());
        int out = 0;
        if (datagram.size() > static_cast<std::size_t>(INT_MAX) ||
            EVP_CipherInit_ex2(ctx, nullptr, nullptr, initial_vector.data(), -1, nullptr) != 1 ||
            EVP_CipherUpdate(ctx, p, &out, p, static_cast<int>(datagram.size())) != 1) {
            throw std::runtime_error("smux::kcp: CFB encryption failed");
        }
    }

    context_ptr encryptor_;
    context_ptr decryptor_;
};

}  // namespace

std::unique_ptr<block_crypt> make_cfb_crypt(cfb_cipher const& c, crypt_key const& key) {
    return std::make_unique<cfb_crypt>(c, key);
}

}  // namespace smux::kcp::detail
